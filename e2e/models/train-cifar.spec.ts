// A short real training run on the CIFAR-10 sample: the GPU net learns (train accuracy > 0.5 after 200 Adam steps on 500 images).
import { test, expect } from '../fixtures.ts';

test('200 Adam steps of a [100, 100] batchnorm net on 500 CIFAR-10 images reach training accuracy above 0.5', async ({ harness }) => {
  test.setTimeout(600_000);
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { batches } = await lib.loadCIFAR10InBrowser({ cache: false });
    const u8 = lib.makeCIFAR10Uint8(batches, { numTraining: 500, numValidation: 500, numTest: 0 });
    const data = {
      XTrain: { data: u8.train.images, shape: [500, 3, 32, 32] },
      yTrain: u8.train.labels,
      XVal: { data: u8.val.images, shape: [500, 3, 32, 32] },
      yVal: u8.val.labels,
      meanImage: u8.meanImage,
    };
    const net = await lib.FullyConnectedNeuralNet.create(gpu, [100, 100], { useBatchnorm: true, weightScale: 2e-2, seed: 1 });
    const solver = new lib.Solver(net, data, {
      updateRule: 'adam',
      optimConfig: { learningRate: 1e-3 },
      batchSize: 50,
      numEpochs: 20,
      seed: 3,
      verbose: false,
      numTrainSamples: 500,
    });
    const t0 = performance.now();
    const result = await solver.train();
    const seconds = (performance.now() - t0) / 1000;
    await net.destroy();
    return { result, seconds, loss: solver.lossHistory, trainAcc: solver.trainAccHistory, valAcc: solver.valAccHistory };
  });
  console.log(`200 steps in ${r.seconds.toFixed(1)} s; train acc ${r.trainAcc.join(' ')}; val acc ${r.valAcc.join(' ')}`);
  expect(r.result.status).toBe('completed');
  expect(r.loss).toHaveLength(200);
  expect(r.loss.every(Number.isFinite)).toBe(true);
  expect(r.loss[0]!).toBeGreaterThan(2.0); // ~ln 10 at the start
  expect(Math.max(...r.trainAcc)).toBeGreaterThan(0.5);
  expect(r.trainAcc[0]!).toBeLessThan(0.3);
});
