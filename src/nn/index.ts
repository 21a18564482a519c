// The GPU network, its graph builder, and safetensors I/O.
export * from './fc-net.ts';
export * from './net-graph.ts';
export * from './safetensors.ts';
export { chunkRowsFor, uploadSplit, type SplitOnGpu, type UploadOptions } from './data-on-gpu.ts';
