// The public API for Node: everything in index.ts plus what needs the file system and network (getCIFAR10Data, download).
export * from './index.ts';
export * from './data/node.ts';
