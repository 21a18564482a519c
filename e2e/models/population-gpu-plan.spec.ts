// A population trained with every kernel planned as for an H200 (bench/sections/population-profile.ts's `--gpu-plan`), run here against float64.
import { test, expect } from '../fixtures.ts';

// The GPU's settings a population step takes: block8vec4 at 64 lanes packed over the models, the first layer's K split
// (260 inputs: 2 chunks of 132), the optimizer at 1 element a lane (a store this small), 64-lane batchnorm and loss.
test('a population planned as for an H200 (batched products, split K, small-store optimizer lanes) trains each model as float64 does', async ({
  harness,
}) => {
  test.setTimeout(300_000);
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const h200 = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', runtime: 'node' as const };
    const asGpu = { ...gpu, adapter: h200 };
    const { reference } = lib;
    const rng = reference.makeRng(9);
    const [N, D, C] = [48, 260, 4];
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 2 : 0) + (X.data[i * D + 1]! > 0 ? 1 : 0));
    const data = { XTrain: X, yTrain: y, XVal: rng.randnTensor([20, D]), yVal: Array.from({ length: 20 }, (_, i) => i % C) };
    const members = Array.from({ length: 5 }, (_, k) => ({ weightScale: [0.05, 0.1, 0.08][k % 3]!, seed: 21 + k, reg: k % 2 ? 0.02 : 0 }));
    const shared = { inputDim: D, numClasses: C, normalization: 'batchnorm' as const, backwardVariant: 'graph' as const };
    const solverOpts = { updateRule: 'adam', batchSize: 12, numEpochs: 2, seed: 3, verbose: false, numTrainSamples: 30 };
    const learningRates = members.map((_, k) => 4e-3 * (1 + k / 4));
    const pop = await lib.FullyConnectedPopulation.create(asGpu, [12, 8], { ...shared, members });
    const ps = new lib.PopulationSolver(pop, data, { ...solverOpts, learningRates });
    const result = await ps.train();
    const labels = (await pop.trainDispatches(12)).map((d) => `${d.label} grid=${d.workgroups.join('x')}`);
    const rows = [];
    for (let k = 0; k < members.length; k++) {
      const ref = new lib.Solver(
        lib.createReferenceTrainer(new reference.FullyConnectedNeuralNet([12, 8], { ...shared, ...members[k] })),
        data,
        { ...solverOpts, optimConfig: { learningRate: learningRates[k]! } },
      );
      await ref.train();
      rows.push({ k, status: result.members[k]!.status, loss: ps.lossHistories[k]!, ref: ref.lossHistory });
    }
    await pop.destroy();
    return { rows, labels };
  });
  console.log(r.labels.filter((l) => l.startsWith('matmul') || l.startsWith('optimizer')).join('\n'));
  // the H200's plan ran: the batched products on block8vec4 at 64 lanes, the first layer's K in 2 splits and its reduce
  expect(r.labels.some((l) => /^matmul 5x 12x12x260 \(A·B\) block8vec4 .*wg=64 splitK=2/.test(l))).toBe(true);
  expect(r.labels.some((l) => l.startsWith('matmul 5x 12x12x260 (A·B) reduce 2 splits'))).toBe(true);
  expect(r.labels.filter((l) => / block8vec4 .*wg=64/.test(l)).length).toBeGreaterThanOrEqual(5);
  // Adam at 1 vec4 a lane: W1 (260x12 = 780 vec4) takes 13 workgroups of 64 a model, each of the other 9 tensors 1, so
  // 22 a model, 110 in all (at the 8 a lane of a large store: 2 + 9 = 11 a model)
  expect(r.labels.find((l) => l.startsWith('optimizer adam'))).toMatch(/ grid=110x1x1$/);
  for (const row of r.rows) {
    expect(row.status, `model ${row.k}`).toBe('completed');
    expect(row.loss, `model ${row.k}`).toHaveLength(8); // 48 rows / 12 a batch x 2 epochs
    // against the float64 reference on the same minibatches (the population spec's bound)
    row.loss.forEach((l, i) =>
      expect(Math.abs(l - row.ref[i]!) / row.ref[i]!, `model ${row.k} step ${i + 1} vs float64`).toBeLessThan(2e-3),
    );
  }
});
