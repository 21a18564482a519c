// The engine's building blocks, a second entry (`webgpu-batchnorm/engine`): the GPU layer, the graph engine, every op's
// encoders and graph ops, the model builders and the solver's parts. The public API (src/index.ts) is built from these.
export * from './gpu/index.ts';
export * from './graph/index.ts';
export { withScope, hostShape, type HostTensor, type F32Tensor } from './ops/host.ts';
export * from './ops/matmul.ts';
export * from './ops/affine.ts';
export * from './ops/batched-affine.ts';
export * from './ops/add.ts';
export * from './ops/relu.ts';
export * from './ops/batchnorm.ts';
export * from './ops/layernorm.ts';
export * from './ops/softmax.ts';
export * from './ops/regularization.ts';
export * from './ops/accuracy.ts';
export * from './ops/optim.ts';
export * from './ops/gather.ts';
export * from './ops/gather-rows.ts';
export * from './ops/op-checks.ts';
export { buildClassifierProgram, makeClassifier, type ClassifierSpec, type ForwardContext } from './nn/classifier.ts';
export { fcForward } from './nn/fc-net.ts';
export { residualForward } from './nn/residual-mlp.ts';
export * from './nn/data-on-gpu.ts';
export * from './solver/recovery.ts';
export * from './solver/solver-run.ts';
export { readSolverSettings, sampleRows, accuracyRows, type SolverSettings } from './solver/solver.ts';
export type { PopulationModel } from './solver/population-solver.ts';
export type { ReferenceModel } from './solver/reference-trainer.ts';
export * from './data/index.ts';
