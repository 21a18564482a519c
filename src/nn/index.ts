// Model builders on the GraphModel engine: the classifier programs, the GPU FullyConnectedNeuralNet, the data upload.
export * from './classifier.ts';
export * from './fc-net.ts';
export * from './data-on-gpu.ts';
export * from './residual-mlp.ts';
export * from './train-one.ts';
export * from './population.ts';
export * from './train-population.ts';
