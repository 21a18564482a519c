// Populations in groups (PopulationGroups), their state: model k of a later group through getParams, setParams, snapshots, safetensors, checkpoints and a device loss.
import { test, expect } from '../fixtures.ts';

test('model k of group 2: getParams, modelParams, setParams, snapshot ranges, restore, safetensors and a rebuild from a checkpoint', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(12);
    const [N, D, C] = [36, 16, 3];
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => i % C);
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const members = Array.from({ length: 5 }, (_, k) => ({ weightScale: 0.3, seed: 70 + k }));
    const shared = { inputDim: D, numClasses: C, useBatchnorm: true };
    const one = await lib.FullyConnectedPopulation.create(gpu, [8], { ...shared, members });
    const pop = await lib.PopulationGroups.create(gpu, [8], { ...shared, members, maxModelsPerGroup: 2 });
    const rows = (t: number) => Uint32Array.from({ length: 12 }, (_, i) => (i * 5 + t) % N);
    const same = (a: Record<string, { data: Float32Array }>, b: Record<string, { data: Float32Array }>) =>
      Object.keys(b).every((n) => a[n]!.data.length === b[n]!.data.length && a[n]!.data.every((v, i) => Object.is(v, b[n]!.data[i])));
    for (const p of [one, pop]) {
      await p.attachData(data);
      await p.setUpdateRule('adam', { learningRate: 1e-2 });
      for (let t = 0; t < 3; t++) await p.stepModels(rows(t));
    }
    const out: Record<string, unknown> = { sizes: pop.groups.map((p) => p.models) };
    // model 4 is group 2's only model
    out.model4 = same(await pop.modelParams(4), await one.modelParams(4));
    out.model4Group = same(await pop.modelParams(4), await pop.groups[2]!.modelParams(0));
    const all = await pop.getParams();
    out.getParams = same(all, await one.getParams());
    // snapshot ranges of model 3 (group 1's second) hold its W1 and b1 values
    const snap = await pop.snapshot();
    const snapOne = await one.snapshot();
    const ranges = pop.snapshotRanges(3);
    const m3 = await pop.modelParams(3);
    const names = pop.groups[1]!.params.layout.names; // each range is one tensor's block, in the store's order
    const [w1, b1] = [ranges.params[names.indexOf('W1')]!, ranges.params[names.indexOf('b1')]!];
    out.ranges = same({ W1: { data: snap.params.slice(...w1) }, b1: { data: snap.params.slice(...b1) } }, { W1: m3.W1!, b1: m3.b1! });
    // restore after more steps gives the snapshot back
    for (const p of [one, pop]) await p.stepModels(rows(7)); // the update rules' state moves on alike
    await pop.restore(snap);
    await one.restore(snapOne);
    out.restored = same(await pop.getParams(), all);
    // setParams of all models stacked (model 4's W2 doubled) lands in group 2 only
    const W2 = Float32Array.from(all.W2!.data);
    const per = W2.length / 5;
    for (let i = 4 * per; i < 5 * per; i++) W2[i]! *= 2;
    pop.setParams({ W2: { data: W2, shape: all.W2!.shape } });
    out.set = (await pop.modelParams(4)).W2!.data.every((v, i) => v === 2 * all.W2!.data[4 * per + i]!);
    out.setOthers = same(
      { W2: { data: (await pop.groups[1]!.getParams()).W2!.data } },
      { W2: { data: all.W2!.data.slice(2 * per, 4 * per) } },
    );
    // a safetensors file of the groups loads into the unsplit population, and back
    one.loadSafetensors(await pop.saveSafetensors());
    out.file = same(await one.getParams(), await pop.getParams());
    pop.loadSafetensors(await one.saveSafetensors());
    out.fileBack = same(await one.getParams(), await pop.getParams());
    // a checkpoint, a rebuild on the same device (what device-loss recovery does), then the same steps as the unsplit population
    const ckpt = await pop.checkpoint(3);
    await pop.rebuildOn(gpu, ckpt);
    const [la, lb] = [await one.stepModels(rows(9)), await pop.stepModels(rows(9))];
    out.afterRebuild = [...la].every((l, k) => Object.is(l, lb[k]));
    out.afterRebuildParams = same(await pop.getParams(), await one.getParams());
    // errors: a snapshot of another population, a model out of range, rates of the wrong length
    const errors: string[] = [];
    for (const bad of [
      () => pop.restore(snapOne),
      () => pop.restore({ params: snap.params.slice(64), state: snap.state }),
      async () => pop.modelParams(5),
      async () => pop.setLearningRate([1, 2]),
      async () => pop.setParams({ W9: { data: [1] } }),
      async () => pop.setParams({ W2: { data: [1, 2] } }),
    ])
      errors.push(
        await bad().then(
          () => 'no error',
          (e: Error) => e.message,
        ),
      );
    out.errors = errors;
    await one.destroy();
    await pop.destroy();
    return out;
  });
  expect(r.sizes).toEqual([2, 2, 1]);
  for (const key of [
    'model4',
    'model4Group',
    'getParams',
    'ranges',
    'restored',
    'set',
    'setOthers',
    'file',
    'fileBack',
    'afterRebuild',
    'afterRebuildParams',
  ])
    expect(r[key], key).toBe(true);
  const errors = r.errors as string[];
  expect(errors[0]).toContain('not a snapshot of this population');
  expect(errors[1]).toContain('not a snapshot of this population');
  expect(errors[2]).toContain('model 5 is not in 0..4');
  expect(errors[3]).toContain('2 learning rates for 5 models');
  expect(errors[4]).toContain('no tensor named W9');
  expect(errors[5]).toContain('W2 has 2 values');
});

test('groups whose device is destroyed at step 17 of 36 recover from the epoch-1 checkpoint and end as an uninterrupted run', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const rng = lib.reference.makeRng(7);
    const [N, D] = [120, 24];
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 2 : 0) + (X.data[i * D + 1]! > 0 ? 1 : 0));
    const data = { XTrain: X, yTrain: y, XVal: rng.randnTensor([40, D]), yVal: Array.from({ length: 40 }, (_, i) => i % 4) };
    const members = [0.1, 0.05, 0.2].map((weightScale, k) => ({ weightScale, seed: 1 + k }));
    const opts = { inputDim: D, numClasses: 4, useBatchnorm: true, members, maxModelsPerGroup: 2 };
    // Adam with per-model rates and lr decay: t, the slots and every rate (split by group) must come back
    const solverOpts = { updateRule: 'adam', learningRates: [5e-3, 2e-3, 8e-3], lrDecay: 0.9, batchSize: 10, numEpochs: 3, seed: 3 };
    const train = async (loseAt: number | null) => {
      const gpu = await lib.requestGpu({ debug: true });
      const pop = await lib.PopulationGroups.create(gpu, [16, 12], opts);
      const solver = new lib.PopulationSolver(pop, data, {
        ...solverOpts,
        verbose: false,
        numTrainSamples: 60,
        onProgress: (p) => {
          if (p.iteration === loseAt && !gpu.lostInfo) gpu.device.destroy();
        },
      });
      const result = await solver.train();
      const out = {
        result: { status: result.status, message: result.message, recoveries: result.recoveries },
        params: await pop.getParams(),
        losses: solver.lossHistories,
        val: solver.valAccHistories,
        newGpu: pop.gpu !== gpu && pop.groups.every((p) => p.gpu === pop.gpu),
      };
      await pop.destroy();
      pop.gpu.device.destroy();
      return out;
    };
    const whole = await train(null);
    const lost = await train(17);
    const worst = Math.max(...Object.entries(whole.params).map(([n, t]) => window.check.scaled(lost.params[n]!.data, t.data)));
    return { whole: { losses: whole.losses, val: whole.val }, lost: { ...lost, params: undefined }, worst };
  });
  expect(r.lost.result.status, r.lost.result.message).toBe('completed');
  expect(r.lost.result.message).toContain('1 device loss survived');
  expect(r.lost.result.recoveries).toHaveLength(1);
  expect(r.lost.result.recoveries[0]!.resumedFrom).toBe(12);
  expect(r.lost.newGpu).toBe(true);
  for (let k = 0; k < 3; k++) {
    expect(r.lost.losses[k]).toHaveLength(36);
    expect(r.lost.losses[k], `model ${k}`).toEqual(r.whole.losses[k]); // the same kernels from the same checkpoint: bit for bit
    expect(r.lost.val[k]).toEqual(r.whole.val[k]);
  }
  expect(r.worst).toBe(0);
});
