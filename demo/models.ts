// The demo's model choice: the WebGPU FullyConnectedNeuralNet or the float64 CPU reference (the library's createTrainableNet; the CPU one in a Web Worker).
import type { Activation, Normalization, TrainedNet } from '../src/index.ts';

export type { ModelKind, TrainedNet as DemoModel } from '../src/index.ts';

/** The network options of the page's CPU reference (cpu-model.ts). */
export interface ModelOptions {
  /** 'batchnorm', 'layernorm' or null (none) before each ReLU. */
  normalization: Normalization;
  /** The hidden layers' nonlinearity: 'relu' (default) or 'gelu'. */
  activation?: Activation;
  weightScale: number;
  seed: number;
  reg?: number;
  inputDim?: number;
  numClasses?: number;
  backwardVariant?: 'graph' | 'alternative';
}

export type { TrainedNet };
