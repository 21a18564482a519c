// A population's run as the PopulationSolver drives it: a diverging model frozen while the others train on, input errors naming the cause, recovery from a lost device.
import { test, expect } from '../fixtures.ts';

test('a diverging model is frozen and reported at its step; the others train on exactly as alone', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const rng = reference.makeRng(9);
    const N = 40;
    const D = 16;
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 1 : 0));
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const members = [{ seed: 1 }, { seed: 2, weightScale: 1 }, { seed: 3 }];
    // model 1: a huge learning rate on large weights: its loss overflows within a few steps
    const learningRates = [1e-2, 1e7, 1e-2];
    const shared = { inputDim: D, numClasses: 2, weightScale: 0.1 };
    const solverOpts = { updateRule: 'sgd', batchSize: 10, numEpochs: 4, seed: 4, verbose: false };
    const pop = await lib.FullyConnectedPopulation.create(gpu, [9, 9], { ...shared, members });
    const ps = new lib.PopulationSolver(pop, data, { ...solverOpts, learningRates });
    const result = await ps.train();
    const alone: { loss: number[]; val: number[]; divergedAt?: number; params: Record<string, { data: Float32Array; shape: number[] }> }[] =
      [];
    for (const k of [0, 1, 2]) {
      const net = await lib.FullyConnectedNeuralNet.create(gpu, [9, 9], { ...shared, ...members[k] });
      const s = new lib.Solver(net, data, { ...solverOpts, optimConfig: { learningRate: learningRates[k]! } });
      const sr = await s.train();
      alone.push({ loss: s.lossHistory, val: s.valAccHistory, divergedAt: sr.divergedAt, params: await net.getParams() });
      await net.destroy();
    }
    const frozen = await pop.modelParams(1);
    const errs = [0, 2].map((k) => ps.lossHistories[k]!.map((l, i) => Math.abs(l - alone[k]!.loss[i]!) / alone[k]!.loss[i]!));
    const out = {
      status: result.status,
      members: result.members.map((m) => ({ status: m.status, divergedAt: m.divergedAt, message: m.message })),
      aloneDivergedAt: alone[1]!.divergedAt,
      lengths: ps.lossHistories.map((h) => h.length),
      lastOf1: ps.lossHistories[1]!.at(-1)!,
      errs,
      vals: [0, 2].map((k) => [ps.valAccHistories[k], alone[k]!.val]),
      frozenFinite: Object.values(frozen).every((t) => t.data.every((v) => Number.isFinite(v))),
      paramErrs: await Promise.all(
        [0, 2].map(async (k) => {
          const mine = await pop.modelParams(k);
          return Math.max(...Object.entries(alone[k]!.params).map(([n, t]) => window.check.scaled(mine[n]!.data, t.data)));
        }),
      ),
    };
    await pop.destroy();
    return out;
  });
  expect(r.status).toBe('completed');
  expect(r.members.map((m) => m.status)).toEqual(['completed', 'diverged', 'completed']);
  // the same step as the same net diverging alone
  expect(r.aloneDivergedAt).toBeGreaterThan(0);
  expect(r.members[1]!.divergedAt).toBe(r.aloneDivergedAt);
  expect(r.members[1]!.message).toContain(`diverged at step ${r.aloneDivergedAt}`);
  expect(r.lengths[1]).toBe(r.aloneDivergedAt);
  expect(Number.isFinite(r.lastOf1)).toBe(false);
  expect(r.lengths[0]).toBe(16);
  expect(r.lengths[2]).toBe(16);
  // frozen: no NaN update reached its parameters
  expect(r.frozenFinite).toBe(true);
  for (const e of r.errs) for (const v of e) expect(v).toBeLessThan(1e-5);
  for (const [mine, theirs] of r.vals) expect(mine).toEqual(theirs);
  for (const e of r.paramErrs) expect(e).toBeLessThan(1e-5);
});

test('population input errors name the cause', async ({ harness }) => {
  const errors = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const out: string[] = [];
    const attempt = async (f: () => Promise<unknown> | unknown) => {
      try {
        await f();
        out.push('no error');
      } catch (e) {
        out.push((e as Error).message);
      }
    };
    await attempt(() => lib.FullyConnectedPopulation.create(gpu, [5], { inputDim: 4, members: [] }));
    await attempt(() => lib.FullyConnectedPopulation.create(gpu, [5], { inputDim: 4, members: [{ weightscale: 1 } as never] }));
    await attempt(() => lib.FullyConnectedPopulation.create(gpu, [5], { inputDim: 4, members: [{ seed: 1 }, { seed: 0.5 }] }));
    const pop = await lib.FullyConnectedPopulation.create(gpu, [5], { inputDim: 4, numClasses: 3, members: [{ seed: 1 }, { seed: 2 }] });
    const data = {
      XTrain: { data: new Float32Array(8 * 4), shape: [8, 4] },
      yTrain: new Array(8).fill(0),
      XVal: { data: new Float32Array(8), shape: [2, 4] },
      yVal: [0, 1],
    };
    await attempt(() => new lib.PopulationSolver(pop, data, { learningRates: [1e-3] }));
    await attempt(() => pop.step(new Uint32Array(2)));
    await attempt(() => pop.modelParams(2));
    await pop.destroy();
    return out;
  });
  expect(errors[0]).toMatch(/members must list at least one model/);
  expect(errors[1]).toMatch(/members\[0\] has unknown key "weightscale"/);
  expect(errors[2]).toBe('FullyConnectedPopulation: members[1]: seed must be a safe integer, got 0.5');
  expect(errors[3]).toMatch(/1 learningRates for 2 models/);
  expect(errors[4]).toMatch(/population of 2 models; stepModels/);
  expect(errors[5]).toMatch(/model 2 is not in 0\.\.1/);
});

test('a population whose device is destroyed at step 17 of 36 recovers once from the epoch-1 checkpoint and ends as an uninterrupted population', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { reference } = lib;
    const D = 24;
    const data = window.setup.quadrants(reference.makeRng(7), 120, D, 40);
    const opts = {
      inputDim: D,
      numClasses: 4,
      useBatchnorm: true,
      members: [
        { weightScale: 0.1, seed: 1 },
        { weightScale: 0.05, seed: 2 },
        { weightScale: 0.2, seed: 3 },
      ],
    };
    // 12 steps an epoch, 3 epochs; Adam with per-model rates and lr decay: t, the slots and every rate must come back
    const solverOpts = {
      updateRule: 'adam',
      learningRates: [5e-3, 2e-3, 8e-3],
      lrDecay: 0.9,
      batchSize: 10,
      numEpochs: 3,
      seed: 3,
      verbose: false,
      numTrainSamples: 60,
    };
    const gpuB = await lib.requestGpu({ debug: true });
    const popB = await lib.FullyConnectedPopulation.create(gpuB, [16, 12], opts);
    const solverB = new lib.PopulationSolver(popB, data, solverOpts);
    await solverB.train();
    const paramsB = await popB.getParams();
    await popB.destroy();
    gpuB.device.destroy();
    const gpu = await lib.requestGpu({ debug: true });
    const pop = await lib.FullyConnectedPopulation.create(gpu, [16, 12], opts);
    let destroyed = false;
    const solver = new lib.PopulationSolver(pop, data, {
      ...solverOpts,
      onProgress: (p) => {
        if (p.iteration === 17 && !destroyed) {
          destroyed = true;
          gpu.device.destroy();
        }
      },
    });
    const result = await solver.train();
    const params = await pop.getParams();
    const worst = Math.max(...Object.entries(paramsB).map(([n, t]) => window.check.scaled(params[n]!.data, t.data)));
    const out = {
      status: result.status,
      message: result.message,
      recoveries: result.recoveries,
      worst,
      newGpu: pop.gpu !== gpu,
      newErrors: pop.gpu.errors.length,
      losses: solver.lossHistories,
      lossesB: solverB.lossHistories,
      val: solver.valAccHistories,
      valB: solverB.valAccHistories,
    };
    await pop.destroy();
    pop.gpu.device.destroy();
    return out;
  });
  expect(r.status, r.message).toBe('completed');
  expect(r.message).toContain('1 device loss survived');
  expect(r.recoveries).toHaveLength(1);
  expect(r.recoveries[0]!.resumedFrom).toBe(12);
  expect(r.recoveries[0]!.reason).toMatch(/destroyed/);
  expect(r.newGpu).toBe(true);
  expect(r.newErrors).toBe(0);
  for (let k = 0; k < 3; k++) {
    expect(r.losses[k]).toHaveLength(36);
    r.losses[k]!.forEach((l, i) =>
      expect(Math.abs(l - r.lossesB[k]![i]!), `model ${k} loss ${i}`).toBeLessThan(1e-5 * Math.abs(r.lossesB[k]![i]!)),
    );
    expect(r.val[k]).toEqual(r.valB[k]);
  }
  expect(r.worst).toBeLessThan(1e-5);
});
