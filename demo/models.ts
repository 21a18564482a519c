// The demo's model choice: the WebGPU FullyConnectedNeuralNet or the float64 CPU reference (both made by the library's createTrainableNet).
export type { ModelKind, TrainedNet as DemoModel } from '../src/index.ts';
