// The float64 CPU run of the README examples' training (same data, initial weights, minibatches and Solver settings).
import { Solver, createReferenceTrainer, getCIFAR10Data, reference } from 'webgpu-batchnorm/node';

const data = await getCIFAR10Data({ numTraining: 500, numValidation: 100, numTest: 0 });
const net = new reference.FullyConnectedNeuralNet([50, 50], { useBatchnorm: true, weightScale: 2e-2, seed: 1 });
const solver = new Solver(createReferenceTrainer(net), data, {
  updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, batchSize: 50, numEpochs: 2, seed: 3, verbose: false,
});
const result = await solver.train();
console.log(JSON.stringify({ status: result.status, loss: solver.lossHistory, valAcc: solver.valAccHistory }));
