// Populations (the model axis): M nets trained in one plan equal, model for model, each net trained alone (GPU) and the float64 reference.
import { test, expect } from '../fixtures.ts';

interface Case {
  models: number;
  normalization: 'batchnorm' | 'layernorm' | null;
  updateRule: string;
}

// M = 1, 3 and the prime 7; with and without batchnorm; three update rules. Hidden widths 12 and 8 (multiples of 4,
// so the population stores them as they are and runs the same kernels as a net alone: equal bit for bit, accuracies
// and the best-validation parameters too); every per-model block is whole vec4s here (the vec4 update launch; the
// divergence test's 2 classes take the f32 one). Widths that are not multiples of 4: the next test.
const cases: Case[] = [
  { models: 1, normalization: 'batchnorm', updateRule: 'adam' },
  { models: 3, normalization: null, updateRule: 'sgd_momentum' },
  { models: 7, normalization: 'batchnorm', updateRule: 'sgd_momentum' },
  { models: 7, normalization: null, updateRule: 'adam' },
  { models: 3, normalization: 'batchnorm', updateRule: 'rmsprop' },
  // layer norm: each model's block of a row normalized alone
  { models: 3, normalization: 'layernorm', updateRule: 'adam' },
  { models: 7, normalization: 'layernorm', updateRule: 'sgd_momentum' },
];

for (const c of cases)
  test(`population of ${c.models} (${c.normalization ?? 'no normalization'}, ${c.updateRule}) = each model alone on the GPU and in float64`, async ({
    harness,
  }) => {
    const r = await harness.page.evaluate(async (c) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      const { reference } = lib;
      const D = 24;
      const C = 4;
      const data = window.setup.quadrants(reference.makeRng(5), 48, D, 20);
      // each model its own initial scale, seed, L2 strength and learning rate
      const members = Array.from({ length: c.models }, (_, k) => ({
        weightScale: [0.3, 0.2, 0.5][k % 3]!,
        seed: 11 + k,
        reg: k % 2 ? 0.02 : 0,
      }));
      const base = { adam: 4e-3, rmsprop: 2e-2, sgd_momentum: 1e-1 }[c.updateRule]!;
      const learningRates = members.map((_, k) => base * (1 + k / 4));
      const shared = { inputDim: D, numClasses: C, normalization: c.normalization, backwardVariant: 'alternative' as const };
      const solverOpts = {
        updateRule: c.updateRule,
        batchSize: 12,
        numEpochs: 3,
        lrDecay: 0.8,
        seed: 3,
        verbose: false,
        numTrainSamples: 30,
      };
      const pop = await lib.FullyConnectedPopulation.create(gpu, [12, 8], { ...shared, members });
      const ps = new lib.PopulationSolver(pop, data, { ...solverOpts, learningRates });
      const result = await ps.train();
      const out = [];
      for (let k = 0; k < c.models; k++) {
        const opts = { ...solverOpts, optimConfig: { learningRate: learningRates[k]! } };
        // unfused, as a population's layers are: the same kernels, so equal bit for bit (a fused net alone differs by
        // f32 rounding, which moves the bias before batchnorm, whose true gradient is 0, by Adam-sized noise steps)
        const net = await lib.FullyConnectedNeuralNet.create(gpu, [12, 8], { ...shared, ...members[k], fusion: 'off' });
        const alone = new lib.Solver(net, data, opts);
        await alone.train();
        const ref = new lib.Solver(
          lib.createReferenceTrainer(new reference.FullyConnectedNeuralNet([12, 8], { ...shared, ...members[k] })),
          data,
          opts,
        );
        await ref.train();
        const mine = await pop.modelParams(k);
        const theirs = await net.getParams();
        let paramErr = 0;
        for (const [name, t] of Object.entries(theirs)) {
          if (mine[name]!.shape.join() !== t.shape.join()) paramErr = Infinity;
          paramErr = Math.max(paramErr, window.check.scaled(mine[name]!.data, t.data));
        }
        out.push({
          k,
          status: result.members[k]!.status,
          paramErr,
          names: Object.keys(mine).sort().join(),
          pop: { loss: ps.lossHistories[k]!, train: ps.trainAccHistories[k]!, val: ps.valAccHistories[k]!, best: ps.bestValAccs[k]! },
          alone: { loss: alone.lossHistory, train: alone.trainAccHistory, val: alone.valAccHistory, best: alone.bestValAcc },
          ref: { loss: ref.lossHistory, val: ref.valAccHistory },
        });
        await net.destroy();
      }
      await pop.destroy();
      return { status: result.status, rows: out };
    }, c);
    expect(r.status).toBe('completed');
    expect(r.rows).toHaveLength(c.models);
    for (const row of r.rows) {
      const at = `model ${row.k}`;
      expect(row.status, at).toBe('completed');
      expect(row.pop.loss, at).toHaveLength(12); // 48 rows / 12 per batch x 3 epochs
      expect(row.names, at).toContain(c.normalization === 'batchnorm' ? 'runningVar2' : c.normalization === 'layernorm' ? 'gamma2' : 'W3');
      // against the same net alone on the GPU: f32 rounding only
      row.pop.loss.forEach((l, i) =>
        expect(Math.abs(l - row.alone.loss[i]!) / row.alone.loss[i]!, `${at} step ${i + 1}`).toBeLessThan(1e-5),
      );
      expect(row.pop.train, at).toEqual(row.alone.train);
      expect(row.pop.val, at).toEqual(row.alone.val);
      expect(row.pop.best, at).toBe(row.alone.best);
      expect(row.paramErr, `${at} final (best-validation) parameters`).toBeLessThan(1e-5);
      // against the float64 reference on the same minibatches
      row.pop.loss.forEach((l, i) =>
        expect(Math.abs(l - row.ref.loss[i]!) / row.ref.loss[i]!, `${at} step ${i + 1} vs float64`).toBeLessThan(2e-3),
      );
    }
    // they learn: the last epoch's mean minibatch loss under the first's, every model (with layer norm, these small
    // nets at these rates do not all improve in 3 epochs: there, the models' mean)
    const mean = (a: number[]) => a.reduce((x, v) => x + v, 0) / a.length;
    const gain = r.rows.map((row) => mean(row.pop.loss.slice(0, 4)) - mean(row.pop.loss.slice(8)));
    if (c.normalization === 'layernorm') expect(mean(gain)).toBeGreaterThan(0.01);
    else gain.forEach((g, k) => expect(g, `model ${k} learns`).toBeGreaterThan(0.01));
    // the models really differ (each its own weights, reg and rate)
    if (c.models > 1) expect(new Set(r.rows.map((row) => row.pop.loss.at(-1)!.toFixed(6))).size).toBe(c.models);
  });

// Hidden widths 10 and 7 are stored as 12 and 8 (storedDims): the extra units are zero and must stay zero, so the
// population still trains each model exactly as alone. The kernels differ (the padded blocks run the vec4 matmul,
// the nets alone the scalar one), so sums round differently: losses and parameters agree to f32 rounding. Steps are
// taken directly (no Solver: an argmax tie broken the other way would pick another best epoch), with SGD+momentum:
// a bias in front of batchnorm has no gradient but rounding noise, which Adam would turn into steps of ~lr.
for (const normalization of ['batchnorm', 'layernorm', null] as const)
  test(`a population of widths 10 and 7 (stored as 12 and 8; ${normalization ?? 'no normalization'}) trains each model as alone; getParams and setParams see the real widths`, async ({
    harness,
  }) => {
    const r = await harness.page.evaluate(async (normalization) => {
      const useBatchnorm = normalization === 'batchnorm';
      const { lib } = window;
      const gpu = await window.gpuReady;
      const rng = lib.reference.makeRng(21);
      const N = 40;
      const D = 24;
      const C = 3;
      const X = rng.randnTensor([N, D]);
      const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 1 : 0) + (X.data[i * D + 1]! > 0.5 ? 1 : 0));
      const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
      const members = [
        { seed: 1, weightScale: 0.1 },
        { seed: 2, weightScale: 0.3, reg: 0.05 },
        { seed: 3, weightScale: 0.05 },
      ];
      const shared = { inputDim: D, numClasses: C, normalization };
      const rows = Array.from({ length: 8 }, (_, t) => Uint32Array.from({ length: 10 }, (_, i) => (t * 10 + i * 3) % N));
      const pop = await lib.FullyConnectedPopulation.create(gpu, [10, 7], { ...shared, members });
      await pop.attachData(data);
      await pop.setUpdateRule('sgd_momentum', { learningRate: 2e-2 });
      // setParams with the real widths: model 1's W2 scaled by 1.5 (its net alone gets the same)
      const before = await pop.getParams();
      const shapes = Object.fromEntries(Object.entries(before).map(([n, t]) => [n, t.shape]));
      const w2 = Float32Array.from(before.W2!.data);
      for (let i = 70; i < 140; i++) w2[i] *= 1.5;
      pop.setParams({ W2: { data: w2, shape: [3, 10, 7] } });
      const roundTrip = Math.max(...(await pop.getParams()).W2!.data.map((v, i) => Math.abs(v - w2[i]!)));
      const popLoss: number[][] = [];
      for (const idx of rows) popLoss.push([...(await pop.stepModels(idx))]);
      const out = [];
      for (const k of [0, 1, 2]) {
        const net = await lib.FullyConnectedNeuralNet.create(gpu, [10, 7], { ...shared, ...members[k] });
        if (k === 1) net.setParams({ W2: { data: w2.slice(70, 140), shape: [10, 7] } });
        await net.attachData(data);
        await net.setUpdateRule('sgd_momentum', { learningRate: 2e-2 });
        const loss: number[] = [];
        for (const idx of rows) loss.push(await net.step(idx));
        const mine = await pop.modelParams(k);
        const theirs = await net.getParams();
        const errs: Record<string, number> = {};
        for (const [name, t] of Object.entries(theirs)) {
          // a bias in front of batchnorm has no gradient (the mean removes it): its values are rounding noise, compared absolutely
          const noise = useBatchnorm && /^b[12]$/.test(name);
          const diff = Math.max(...t.data.map((v, i) => Math.abs(v - mine[name]!.data[i]!)));
          errs[name] =
            mine[name]!.shape.join() !== t.shape.join() ? Infinity : noise ? diff : window.check.scaled(mine[name]!.data, t.data);
        }
        out.push({
          k,
          lossErr: Math.max(...loss.map((l, i) => Math.abs(l - popLoss[i]![k]!) / l)),
          errs,
          losses: loss,
        });
        await net.destroy();
      }
      const stored = pop.storedDims;
      await pop.destroy();
      return { shapes, roundTrip, out, stored };
    }, normalization);
    const useBatchnorm = normalization === 'batchnorm';
    const mean = (a: number[]) => a.reduce((x, v) => x + v, 0) / a.length;
    expect(r.stored).toEqual([24, 12, 8, 3]);
    expect(r.shapes.W1).toEqual([3, 24, 10]);
    expect(r.shapes.W2).toEqual([3, 10, 7]);
    expect(r.shapes.b2).toEqual([21]);
    if (useBatchnorm) expect(r.shapes.runningVar2).toEqual([21]);
    expect(r.roundTrip).toBe(0);
    for (const row of r.out) {
      const at = `model ${row.k}`;
      expect(row.lossErr, `${at}: losses vs alone`).toBeLessThan(1e-5);
      for (const [name, e] of Object.entries(row.errs))
        expect(e, `${at} ${name}`).toBeLessThan(useBatchnorm && /^b[12]$/.test(name) ? 1e-6 : 1e-5);
      // it learns: the mean minibatch loss of the last 4 steps under the first 4's (one step's loss is minibatch noise)
      expect(mean(row.losses.slice(4)), at).toBeLessThan(mean(row.losses.slice(0, 4)));
    }
  });
