// Populations in groups (PopulationGroups): M models split into groups forced small train bit for bit as one unsplit population, match float64 on the first step, and keep snapshots, params, divergence and recovery per model.
import { test, expect } from '../fixtures.ts';

// 7 models in groups of 3 (3, 3, 1: an uneven last group); widths 12 and 8 (multiples of 4: stored as they are).
// The unsplit population is itself checked against float64 and against each net alone (population.spec.ts).

test('7 models in groups of 3, 3, 1 train bit for bit as one population of 7 (Adam, batchnorm, per-model rates, one data upload)', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(5);
    const [N, D, C] = [48, 24, 4];
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 2 : 0) + (X.data[i * D + 1]! > 0 ? 1 : 0));
    const data = { XTrain: X, yTrain: y, XVal: rng.randnTensor([20, D]), yVal: Array.from({ length: 20 }, (_, i) => i % C) };
    const members = Array.from({ length: 7 }, (_, k) => ({ weightScale: [0.3, 0.2, 0.5][k % 3]!, seed: 11 + k, reg: k % 2 ? 0.02 : 0 }));
    const learningRates = members.map((_, k) => 4e-3 * (1 + k / 4));
    const shared = { inputDim: D, numClasses: C, normalization: 'batchnorm' as const, backwardVariant: 'alternative' as const };
    const opts = { updateRule: 'adam', batchSize: 12, numEpochs: 3, lrDecay: 0.8, seed: 3, verbose: false, learningRates };
    const run = async (pop: { destroy(): Promise<void> } & ConstructorParameters<typeof lib.PopulationSolver>[0]) => {
      const before = gpu.stats.bytesLive;
      await pop.attachData(data);
      const uploaded = gpu.stats.bytesLive - before;
      const s = new lib.PopulationSolver(pop, data, opts);
      const result = await s.train();
      return { s, result, uploaded };
    };
    const one = await lib.FullyConnectedPopulation.create(gpu, [12, 8], { ...shared, members });
    const groups = await lib.PopulationGroups.create(gpu, [12, 8], { ...shared, members, maxModelsPerGroup: 3 });
    const a = await run(one);
    const b = await run(groups);
    const [pa, pb] = [await one.getParams(), await groups.getParams()];
    const out = {
      sizes: groups.groups.map((p) => p.models),
      status: [a.result.status, b.result.status],
      uploaded: [a.uploaded, b.uploaded],
      losses: [a.s.lossHistories, b.s.lossHistories],
      accs: [
        [a.s.trainAccHistories, a.s.valAccHistories, a.s.bestValAccs],
        [b.s.trainAccHistories, b.s.valAccHistories, b.s.bestValAccs],
      ],
      shapes: [Object.values(pa).map((t) => t.shape.join()), Object.values(pb).map((t) => t.shape.join())],
      names: [Object.keys(pa).join(), Object.keys(pb).join()],
      unequal: Object.keys(pa).filter((n) => pa[n]!.data.some((v, i) => !Object.is(v, pb[n]!.data[i]))),
      dispatches: [await one.dispatchesPerStep(12), await groups.dispatchesPerStep(12)],
    };
    await one.destroy();
    await groups.destroy();
    return out;
  });
  expect(r.sizes).toEqual([3, 3, 1]);
  expect(r.status).toEqual(['completed', 'completed']);
  // the groups train on the first group's upload: attaching the data costs what it costs one population
  expect(r.uploaded[1]).toBe(r.uploaded[0]);
  expect(r.losses[0]![0]).toHaveLength(12);
  expect(r.losses[1]).toEqual(r.losses[0]); // bit for bit, every model, every step
  expect(r.accs[1]).toEqual(r.accs[0]);
  expect(r.names[1]).toBe(r.names[0]);
  expect(r.shapes[1]).toEqual(r.shapes[0]);
  expect(r.unequal).toEqual([]); // the final (best-validation) parameters
  // each group is one population's plan (a group of one model may take one launch fewer)
  expect(r.dispatches[1]).toBeGreaterThan(2 * r.dispatches[0]!);
  expect(r.dispatches[1]).toBeLessThanOrEqual(3 * r.dispatches[0]!);
});

test('the first step of models in each group matches float64: loss and every gradient (SGD at rate 1: W0 - W1 = dW)', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const rng = reference.makeRng(8);
    const [N, D, C] = [30, 20, 5];
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => i % C);
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const members = Array.from({ length: 5 }, (_, k) => ({ weightScale: 0.2 + 0.1 * k, seed: 40 + k, reg: k % 2 ? 0.05 : 0 }));
    const shared = { inputDim: D, numClasses: C, normalization: 'batchnorm' as const };
    const pop = await lib.PopulationGroups.create(gpu, [16, 8], { ...shared, members, maxModelsPerGroup: 2 });
    await pop.attachData(data);
    await pop.setUpdateRule('sgd', { learningRate: 1 });
    const rows = Uint32Array.from({ length: 13 }, (_, i) => (i * 7) % N);
    const before = await Promise.all(members.map((_, k) => pop.modelParams(k)));
    const losses = await pop.stepModels(rows);
    const after = await Promise.all(members.map((_, k) => pop.modelParams(k)));
    const Xb = reference.makeTensor(
      [rows.length, D],
      Float64Array.from([...rows].flatMap((i) => [...X.data.subarray(i * D, (i + 1) * D)])),
    );
    const yb = [...rows].map((i) => y[i]!);
    const out = members.map((m, k) => {
      const net = new reference.FullyConnectedNeuralNet([16, 8], { ...shared, ...m });
      const params = net.namedTensors();
      for (const [n, t] of Object.entries(before[k]!)) if (!n.startsWith('running')) params[n]!.data.set(t.data);
      const ref = net.loss(Xb, yb) as { loss: number; grads: Record<string, { data: Float64Array }> };
      const step = (n: string) => before[k]![n]!.data.map((w, i) => w - after[k]![n]!.data[i]!);
      // a hidden bias in front of batchnorm has gradient 0 (float64: ~1e-17; f32: rounding noise): checked absolutely
      const zero = (n: string) => /^b[12]$/.test(n);
      const grads = Object.entries(ref.grads);
      const gradErr = Math.max(...grads.filter(([n]) => !zero(n)).map(([n, g]) => window.check.scaled(step(n), g.data)));
      const biasStep = Math.max(...grads.filter(([n]) => zero(n)).flatMap(([n]) => [...step(n)].map(Math.abs)));
      return { lossErr: Math.abs(losses[k]! - ref.loss) / ref.loss, gradErr, biasStep, grads: grads.length };
    });
    const groups = pop.groups.map((p) => p.models);
    await pop.destroy();
    return { groups, out };
  });
  expect(r.groups).toEqual([2, 2, 1]);
  for (const [k, m] of r.out.entries()) {
    expect(m.grads, `model ${k}`).toBe(10); // W1..3, b1..3, gamma1..2, beta1..2
    expect(m.lossErr, `model ${k} loss`).toBeLessThan(1e-5);
    expect(m.gradErr, `model ${k} gradients`).toBeLessThan(1e-4);
    expect(m.biasStep, `model ${k} hidden biases`).toBeLessThan(1e-6);
  }
});

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

test('a model diverging in the second group is frozen at the step it diverges in one population; every other model trains on bit for bit', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(9);
    const [N, D] = [40, 16];
    const X = rng.randnTensor([N, D]);
    const y = Array.from({ length: N }, (_, i) => (X.data[i * D]! > 0 ? 1 : 0));
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const members = Array.from({ length: 5 }, (_, k) => ({ seed: 1 + k, weightScale: k === 3 ? 1 : 0.1 }));
    // model 3 (group 1's second): a learning rate near f32's largest; with batchnorm its loss overflows within a few steps
    const learningRates = [1e-2, 1e-2, 2e-2, 1e38, 1e-2];
    const shared = { inputDim: D, numClasses: 2, useBatchnorm: true };
    const opts = { updateRule: 'sgd', batchSize: 10, numEpochs: 4, seed: 4, verbose: false, learningRates };
    const out = [];
    for (const maxModelsPerGroup of [5, 2]) {
      const pop = await lib.PopulationGroups.create(gpu, [16, 12], { ...shared, members, maxModelsPerGroup });
      const ps = new lib.PopulationSolver(pop, data, opts);
      const result = await ps.train();
      const frozen = await pop.modelParams(3);
      out.push({
        groups: pop.groups.length,
        status: result.members.map((m) => m.status),
        divergedAt: ps.divergedAt.map((d) => d ?? 0),
        losses: ps.lossHistories,
        frozenFinite: Object.values(frozen).every((t) => t.data.every((v) => Number.isFinite(v))),
        params: Object.fromEntries(Object.entries(await pop.getParams()).map(([k, t]) => [k, Array.from(t.data)])),
      });
      await pop.destroy();
    }
    return out;
  });
  const [whole, split] = r;
  expect([whole!.groups, split!.groups]).toEqual([1, 3]);
  expect(split!.status).toEqual(['completed', 'completed', 'completed', 'diverged', 'completed']);
  expect(split!.divergedAt[3]).toBeGreaterThan(1);
  expect(split!.divergedAt).toEqual(whole!.divergedAt);
  expect(split!.frozenFinite).toBe(true);
  expect(split!.losses[0]).toHaveLength(16);
  // the others as in one population: to f32 rounding (a group of 2 may take another matmul kernel for its width than
  // the population of 5: the auto plan's block8sg where a subgroup quad's columns are filled, docs/architecture.md)
  for (const k of [0, 1, 2, 4])
    split!.losses[k]!.forEach((l, i) => expect(Math.abs(l - whole!.losses[k]![i]!) / l, `model ${k} step ${i + 1}`).toBeLessThan(1e-6));
  for (const [name, values] of Object.entries(split!.params)) {
    const want = whole!.params[name]!;
    const scale = Math.max(...want.filter(Number.isFinite).map(Math.abs));
    values.forEach((v, i) => {
      if (Number.isFinite(want[i]!)) expect(Math.abs(v - want[i]!) / scale, `${name}[${i}]`).toBeLessThan(1e-6);
      else expect(v, `${name}[${i}]`).toBe(want[i]);
    });
  }
});

test('bad options and a population too wide for one binding: clear errors naming the cause', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const members = [{ seed: 1 }, { seed: 2 }, { seed: 3 }];
    const binding = Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
    // W1 of one model takes a third of a binding (plus its padding units): three do not fit one store
    const wide = Math.ceil(binding / 3 / (64 * 4) / 4) * 4;
    const plan = lib.planPopulationGroups(
      gpu.device.limits,
      { dims: [64, wide, 2], normalization: null, updateRule: 'sgd', batchSize: 1 },
      { models: 3 },
    );
    const errors: string[] = [];
    for (const bad of [
      () => lib.PopulationGroups.create(gpu, [8], { inputDim: 4, numClasses: 2, members, maxModelsPerGroup: 0 }),
      () => lib.PopulationGroups.create(gpu, [8], { inputDim: 4, numClasses: 2, members, maxModelsPerGroup: 1.5 }),
      () => lib.PopulationGroups.create(gpu, [8], { inputDim: 4, numClasses: 2, members: [] }),
      () => lib.PopulationGroups.create(gpu, [8], { inputDim: 4, numClasses: 2, members, batchSize: 0 }),
      () => lib.FullyConnectedPopulation.create(gpu, [wide], { inputDim: 64, numClasses: 2, members }),
    ])
      errors.push(
        await bad().then(
          async (p) => {
            await p.destroy();
            return 'no error';
          },
          (e: Error) => e.message,
        ),
      );
    return { errors, plan: { modelsPerGroup: plan.modelsPerGroup, groups: plan.groups, limit: plan.limit } };
  });
  expect(r.errors[0]).toContain('maxModelsPerGroup must be an integer >= 1, got 0');
  expect(r.errors[1]).toContain('maxModelsPerGroup must be an integer >= 1, got 1.5');
  expect(r.errors[2]).toContain('members must list at least one model');
  expect(r.errors[3]).toContain('batchSize must be an integer >= 1, got 0');
  expect(r.errors[4]).toMatch(/3 models do not fit one storage binding .*(maxStorageBufferBindingSize|maxBufferSize).*PopulationGroups/);
  expect(r.plan.modelsPerGroup).toBe(2);
  expect(r.plan.groups).toEqual([2, 1]);
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
