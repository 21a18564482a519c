// The public API of webgpu-batchnorm: a GPU, the seed's functions on it (host forms), the models, the Solver, CIFAR-10, the
// float64 reference and safetensors. The building blocks (graph engine, op encoders, dispatch) are the second entry,
// src/engine.ts (`webgpu-batchnorm/engine`); Node's data functions are src/node.ts (`webgpu-batchnorm/node`).

// A GPU, in the browser or in Node
export { requestGpu, createGpu, webgpuMissingMessage } from './gpu/device.ts';
export type { GpuContext, RequestGpuOptions, AdapterSummary, GpuErrorRecord, GpuStats } from './gpu/device.ts';

// The seed's functions on the GPU, from host arrays (float32 results)
export type { HostTensor, F32Tensor } from './ops/host.ts';
export { matmul } from './ops/matmul-host.ts';
export { affineForward, affineBackward } from './ops/affine-host.ts';
export { reluForward, reluBackward } from './ops/relu-host.ts';
export { forwardBatchNormalization, backwardBatchNormalization, backwardBatchNormalizationAlternative } from './ops/batchnorm-host.ts';
export type { GpuBnParam, GpuBatchNormCache, BatchNormGradients } from './ops/batchnorm-host.ts';
export { forwardLayerNormalization, backwardLayerNormalization } from './ops/layernorm-host.ts';
export type { GpuLnParam, GpuLayerNormCache } from './ops/layernorm-host.ts';
export { softmaxLoss } from './ops/softmax-host.ts';

// Models
export { FullyConnectedNeuralNet, type GpuNetOptions, type NetSpec, type Normalization, type Activation } from './nn/fc-net.ts';
export { FullyConnectedPopulation, type PopulationMember, type PopulationOptions } from './nn/population.ts';
export { PopulationGroups, type PopulationGroupsOptions } from './nn/population-groups.ts';
export { planPopulationGroups, type PopulationGroupPlan, type PopulationNet, type GroupLimits } from './nn/population-size.ts';
export { ResidualMLP } from './nn/residual-mlp.ts';
export { GraphModel } from './graph/model.ts';
export type { ModelCheckpoint } from './graph/checkpoint.ts';
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from './graph/safetensors.ts';

// Training
export { Solver, type SolverOptions, type SolverProgress, type SolverResult } from './solver/solver.ts';
export { PopulationSolver } from './solver/population-solver.ts';
export type { PopulationSolverOptions, PopulationProgress, PopulationResult, PopulationMemberResult } from './solver/population-solver.ts';
export type { SolverData, SolverSplit, TrainableModel } from './solver/model.ts';
export type { Recovery } from './solver/recovery.ts';
export { createReferenceTrainer } from './solver/reference-trainer.ts';
export { updateRules, updateRuleNames, isUpdateRule, type OptimizerRule } from './ops/update-rules.ts';
export { trainOne, createTrainableNet, meanOfLast } from './nn/train-one.ts';
export type { ModelKind, NetChoice, TrainedNet, TrainRecord, TrainOneArgs } from './nn/train-one.ts';
export { trainPopulation, type TrainPopulationArgs } from './nn/train-population.ts';

// CIFAR-10 (browser-safe; files, download and lookup in webgpu-batchnorm/node)
export { CIFAR10_FILES, IMAGE_BYTES, META_FILE, NUM_CLASSES, RECORD_BYTES, TEST_FILE, TRAIN_FILES } from './data/cifar10.ts';
export { labelHistogram, parseCIFAR10Batch, parseCIFAR10Files, parseClassNames } from './data/cifar10.ts';
export type { CIFAR10Batch, CIFAR10Batches } from './data/cifar10.ts';
export { readCIFAR10Archive, readCIFAR10ArchiveBatches, type ArchiveInput } from './data/archive.ts';
export { computeMeanImage, makeCIFAR10Data, makeCIFAR10Uint8, toImageTensor } from './data/splits.ts';
export type { CIFAR10Data, CIFAR10Uint8, ImageTensor, LabeledImages, SplitOptions } from './data/splits.ts';
export { clearCIFAR10Cache, loadCIFAR10InBrowser } from './data/browser.ts';
export type { BrowserLoadOptions, BrowserLoadProgress, BrowserLoadResult, CacheWriteOutcome } from './data/browser.ts';

// The float64 CPU reference of every seed function, and the notebook's checks
export * as reference from './reference/index.ts';
export { evalNumericalGradient, evalNumericalGradientArray, relError } from './reference/gradient-check.ts';
