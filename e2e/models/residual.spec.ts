// A model that is not an FC net, through the same engine and Solver: the GPU ResidualMLP (fan-out in autodiff) against the float64 reference.
import { test, expect } from '../fixtures.ts';

test('ResidualMLP on the GPU: gradients match the float64 reference, and 20 Adam steps under the Solver follow its loss curve', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const rng = reference.makeRng(12);
    const norm = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < b.length; i++) {
        num += (a[i]! - b[i]!) ** 2;
        den += b[i]! ** 2;
      }
      return Math.sqrt(num / den);
    };
    // gradients, with and without L2
    const gradErrors: Record<string, number> = {};
    for (const reg of [0, 0.5]) {
      const opts = { inputDim: 13, numClasses: 5, weightScale: 0.2, seed: 4, reg };
      const X = rng.randnTensor([9, 13]);
      const y = Array.from({ length: 9 }, () => rng.randint(5));
      const want = new reference.ResidualMLP(24, opts).loss(X, y);
      const net = await lib.ResidualMLP.create(gpu, 24, opts);
      const got = await net.loss(X, y);
      for (const [name, g] of Object.entries(want.grads)) gradErrors[`reg ${reg} ${name}`] = norm(got.grads[name]!, g.data);
      gradErrors[`reg ${reg} loss`] = Math.abs(got.loss - want.loss) / want.loss;
      await net.destroy();
    }
    // training: same data, same minibatches (the Solver's seed), CPU float64 vs GPU
    const N = 64;
    const D = 16;
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 2 : 0) + (X.data[i * D + 1]! > 0 ? 1 : 0));
    const data = { XTrain: X, yTrain: y, XVal: rng.randnTensor([N, D]), yVal: Array.from({ length: N }, (_, i) => i % 4) };
    const netOpts = { inputDim: D, numClasses: 4, weightScale: 0.1, seed: 2 };
    const solverOpts = {
      updateRule: 'adam',
      optimConfig: { learningRate: 5e-3 },
      lrDecay: 0.5,
      batchSize: 16,
      numEpochs: 5,
      seed: 8,
      verbose: false,
      numTrainSamples: null,
    };
    const cpu = new lib.Solver(lib.createReferenceTrainer(new reference.ResidualMLP(32, netOpts)), data, solverOpts);
    await cpu.train();
    const net = await lib.ResidualMLP.create(gpu, 32, netOpts);
    const solver = new lib.Solver(net, data, solverOpts);
    const result = await solver.train();
    const dispatches = await net.dispatchesPerStep(16);
    await net.destroy();
    return {
      gradErrors,
      cpu: cpu.lossHistory,
      gpu: solver.lossHistory,
      status: result.status,
      cpuVal: cpu.valAccHistory,
      gpuVal: solver.valAccHistory,
      dispatches,
    };
  });
  expect(Object.keys(r.gradErrors)).toHaveLength(14);
  for (const [k, e] of Object.entries(r.gradErrors)) expect(e, k).toBeLessThan(1e-4);
  expect(r.status).toBe('completed');
  expect(r.gpu).toHaveLength(20);
  r.gpu.forEach((l, i) => expect(Math.abs(l - r.cpu[i]!) / r.cpu[i]!, `step ${i + 1}`).toBeLessThan(1e-3));
  expect(r.gpu[19]!).toBeLessThan(r.gpu[0]!);
  expect(r.gpuVal).toHaveLength(r.cpuVal.length);
  r.gpuVal.forEach((a, i) => expect(Math.abs(a - r.cpuVal[i]!), `val check ${i}`).toBeLessThanOrEqual(1 / 64 + 1e-12));
  // 2 gathers, 3 affine + 2 relu + 1 add forward, softmax, backward with one add for h's two gradients, 1 optimizer dispatch
  console.log(`ResidualMLP: ${r.dispatches} dispatches per step`);
  expect(r.dispatches).toBeLessThan(25);
});
