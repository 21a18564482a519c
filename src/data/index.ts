// The browser-safe CIFAR-10 API: parser, archive reader, splits and the browser loader (Node-only parts are in node.ts).
export {
  CIFAR10_FILES, IMAGE_BYTES, META_FILE, NUM_CLASSES, RECORD_BYTES, TEST_FILE, TRAIN_FILES,
  areContiguous, contiguousTargets, createBatchParser, labelHistogram, makeContiguous, parseCIFAR10Batch, parseCIFAR10Files, parseClassNames,
} from './cifar10.ts';
export type { BatchParser, BatchTarget, CIFAR10Batch, CIFAR10Batches } from './cifar10.ts';
export { cifar10BatchesFromTar, cifar10FilesFromTar, createTarReader, gunzip, readCIFAR10Archive, readCIFAR10ArchiveBatches, readTar } from './archive.ts';
export type { ArchiveInput, TarConsumer, TarSink } from './archive.ts';
export { computeMeanImage, makeCIFAR10Data, makeCIFAR10Uint8, toImageTensor } from './splits.ts';
export type { CIFAR10Data, CIFAR10Uint8, ImageTensor, LabeledImages, SplitOptions } from './splits.ts';
export { clearCIFAR10Cache, loadCIFAR10InBrowser } from './browser.ts';
export type { BrowserLoadOptions, BrowserLoadProgress, BrowserLoadResult, CacheWriteOutcome } from './browser.ts';
export type { CacheManifest } from './idb-cache.ts';
