// The float64 CPU reference of every seed function, re-exported in one place.
export * from './tensor.ts';
export * from './rng.ts';
export * from './philox.ts';
export * from './layers.ts';
export * from './batchnorm.ts';
export * from './layernorm.ts';
export * from './fc-net.ts';
export * from './optim.ts';
export * from './gradient-check.ts';
export * from './residual-mlp.ts';
