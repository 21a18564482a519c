// Browser-side set-up the model specs share (on `window.setup` in the harness page): a toy four-class data set and the
// small Adam run that the steps-per-submit, device-loss and population specs train.
import { reference } from '../src/index.ts';

type Rng = ReturnType<typeof reference.makeRng>;

/**
 * `n` training rows of randn features labelled by the signs of their first two (four balanced, learnable classes) and
 * `nVal` randn validation rows labelled 0, 1, 2, 3 in turn; drawn from `rng` in that order.
 *   const data = makeQuadrantData(reference.makeRng(7), 120, 24, 40);
 *   data.yTrain.length; // 120
 */
export function makeQuadrantData(rng: Rng, n: number, d: number, nVal: number) {
  const X = rng.randnTensor([n, d]);
  const y = Array.from({ length: n }, (_, i) => (X.data[i * d]! > 0 ? 2 : 0) + (X.data[i * d + 1]! > 0 ? 1 : 0));
  return { XTrain: X, yTrain: y, XVal: rng.randnTensor([nVal, d]), yVal: Array.from({ length: nVal }, (_, i) => i % 4) };
}

/**
 * A small batchnorm run: 120 rows of 24 features (seed 7), 12 steps an epoch, 3 epochs, Adam with lr decay (so `t`, the
 * slots and the decayed rate all matter); `rng` continues after the data.
 *   const { data, netOpts, solverOpts } = makeSmallRun();
 *   await new Solver(await FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts), data, solverOpts).train();
 */
export function makeSmallRun() {
  const rng = reference.makeRng(7);
  const D = 24;
  const data = makeQuadrantData(rng, 120, D, 40);
  const netOpts = { inputDim: D, numClasses: 4, normalization: 'batchnorm' as const, weightScale: 0.1, seed: 2 };
  const solverOpts = {
    updateRule: 'adam',
    optimConfig: { learningRate: 5e-3 },
    lrDecay: 0.9,
    batchSize: 10,
    numEpochs: 3,
    seed: 3,
    verbose: false,
    numTrainSamples: 60,
  };
  return { rng, data, netOpts, solverOpts };
}
