// The browser-safe CIFAR-10 API: parser, archive reader, splits and the browser loader (Node-only parts are in node.ts).
export {
  CIFAR10_FILES, IMAGE_BYTES, META_FILE, NUM_CLASSES, RECORD_BYTES, TEST_FILE, TRAIN_FILES,
  labelHistogram, parseCIFAR10Batch, parseCIFAR10Files, parseClassNames,
} from './cifar10.ts';
export type { CIFAR10Batch, CIFAR10Batches } from './cifar10.ts';
export { gunzip, readCIFAR10Archive, readTar } from './archive.ts';
export type { ArchiveInput } from './archive.ts';
export { computeMeanImage, makeCIFAR10Data, makeCIFAR10Uint8, toImageTensor } from './splits.ts';
export type { CIFAR10Data, CIFAR10Uint8, ImageTensor, LabeledImages, SplitOptions } from './splits.ts';
export { clearCIFAR10Cache, loadCIFAR10InBrowser } from './browser.ts';
export type { BrowserLoadOptions, BrowserLoadProgress, BrowserLoadResult } from './browser.ts';
