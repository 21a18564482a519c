// The graph engine: IR, autodiff, buffer planner, executor, and the op definitions it knows.
export * from './graph.ts';
export * from './autodiff.ts';
export * from './planner.ts';
export * from './executor.ts';
export * from './ops.ts';
