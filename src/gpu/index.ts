// The GPU layer: device acquisition, kernels by reflection, buffers, dispatch records, timers.
export * from './device.ts';
export * from './kernel.ts';
export * from './buffers.ts';
export * from './dispatch.ts';
export * from './timer.ts';
export * from './probes.ts';
export * from './profiler.ts';
