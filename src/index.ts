// The public API of webgpu-batchnorm: the GPU layer, GPU ops under the seed's names, and the float64 reference.
export * from './gpu/index.ts';
export * from './ops/relu.ts';
// export * as reference from "./reference/index.ts";  (enabled once src/reference lands)
