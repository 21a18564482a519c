// The graph engine: IR, autodiff, buffer planner, compiler, stores, host checkpoints and GraphModel (in parts: tensors, programs, session, recovery points). It knows no op: src/ops defines them against these types.
export * from './graph.ts';
export * from './autodiff.ts';
export * from './planner.ts';
export * from './executor.ts';
export * from './store.ts';
export * from './model-definition.ts';
export * from './model.ts';
export * from './checkpoint.ts';
export * from './safetensors.ts';
export type { TensorValues, StoreSnapshot } from './tensors.ts';
export type { ParamsSource } from './recovery-point.ts';
export type { DirectRows } from './session.ts';
export type { StepGroup, StepRanges } from './step-group.ts';
