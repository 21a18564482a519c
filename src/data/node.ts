// The Node-only CIFAR-10 API (files, download, dev-server plugin) on top of the browser-safe one in index.ts.
export * from './index.ts';
export { getCIFAR10Data, getCIFAR10Uint8 } from './get-cifar10-data.ts';
export type { GetCIFAR10Options } from './get-cifar10-data.ts';
export { BATCHES_DIR, extractCIFAR10Archive, findCIFAR10Dir, readArchiveFile, locateCIFAR10, readCIFAR10Dir } from './locate.ts';
export type { CIFAR10Location, LocateOptions } from './locate.ts';
export { ARCHIVE_FILE, CIFAR10_MD5, CIFAR10_URL, downloadCIFAR10, formatProgress } from './download.ts';
export type { DownloadOptions, DownloadProgress } from './download.ts';
export { cifar10DevServer } from './vite-plugin.ts';
