// A population's initial state (each model's own Philox draws, as its net alone) and its checks (one accuracy pass per split, every plan compiled once).
import { test, expect } from '../fixtures.ts';

// The initial state is each model's own: drawn on the GPU from its seed's Philox streams (src/reference/philox.ts), so
// model k equals, bit for bit, the net alone with its options, whatever the population's size or k; and the float64
// reference with those options, to f32 rounding (the normal transform is f32 on the GPU, float64 there).
for (const normalization of ['batchnorm', 'layernorm', null] as const)
  test(`model k starts bit for bit as its net alone, in populations of any size and order, and as the float64 reference (${normalization ?? 'no normalization'})`, async ({
    harness,
  }) => {
    const r = await harness.page.evaluate(async (normalization) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      const shared = { inputDim: 29, numClasses: 5, normalization };
      // hidden widths 10 and 7 are stored as 12 and 8: the padding must be zero and invisible
      const a = { seed: 1, weightScale: 0.1 };
      const b = { seed: -7, weightScale: 0.5, reg: 0.1 };
      const c = { seed: 2 ** 40 + 9, weightScale: 2e-2 };
      const populations = [[a, b, c], [c], [b, c, a, a]];
      const out = [];
      for (const members of populations) {
        const pop = await lib.FullyConnectedPopulation.create(gpu, [10, 7], { ...shared, members });
        const stored = await pop.snapshot(); // the stores as they are, padding included
        for (let k = 0; k < members.length; k++) {
          const net = await lib.FullyConnectedNeuralNet.create(gpu, [10, 7], { ...shared, ...members[k] });
          const alone = await net.getParams();
          await net.destroy();
          const mine = await pop.modelParams(k);
          const ref = new lib.reference.FullyConnectedNeuralNet([10, 7], { ...shared, ...members[k] }).namedTensors();
          let differ = 0;
          let refUlp = 0;
          let refOther = 0;
          for (const [name, t] of Object.entries(alone)) {
            if (mine[name]!.shape.join() !== t.shape.join() || ref[name]!.shape.join() !== t.shape.join()) differ = Infinity;
            t.data.forEach((v, i) => {
              if (!Object.is(v, mine[name]!.data[i])) differ++;
              const w = ref[name]!.data[i]!;
              if (name.startsWith('W') && w !== 0) refUlp = Math.max(refUlp, Math.abs(v - w) / (Math.abs(w) * 2 ** -24));
              else if (!(v === w)) refOther++;
            });
          }
          out.push({ at: `population of ${members.length}, model ${k}`, differ, refUlp, refOther, names: Object.keys(mine).join() });
        }
        // every stored value outside the real blocks is zero: the padded units of W, b, gamma, beta
        const real = Object.values(await pop.getParams()).reduce((n, t) => n + t.data.filter((v) => v !== 0).length, 0);
        out.push({ at: `population of ${members.length}`, nonzeroStored: stored.params.filter((v) => v !== 0).length, nonzeroReal: real });
        await pop.destroy();
      }
      return out;
    }, normalization);
    const models = r.filter((row) => 'differ' in row);
    expect(models).toHaveLength(8);
    for (const row of models) {
      expect(row.differ, `${row.at}: values unlike its net alone`).toBe(0);
      expect(row.refUlp, `${row.at}: weights vs float64, in 2^-24 |w|`).toBeLessThan(32);
      expect(row.refOther, `${row.at}: biases, gammas, betas, running statistics vs float64`).toBe(0);
      expect(row.names).toContain(normalization === null ? 'W3' : 'gamma2');
    }
    for (const row of r.filter((x) => 'nonzeroStored' in x)) expect(row.nonzeroStored, row.at).toBe(row.nonzeroReal);
  });

// Item 4 of issue 22: the Solver's checks of a population are batched too. Each check asks accuracyModels once per split
// for every model; 1000 rows are one chunk, so one pass (one plan replay) per split; and no plan is compiled after the
// first step's check (each compiles once: the bind groups a plan makes are counted, replays make none).
test('a population checks all models in one accuracy pass per split on 1000 + 1000 rows, and compiles each plan once', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(3);
    const D = 8;
    const X = rng.randnTensor([1200, D]);
    const y = Array.from({ length: 1200 }, (_, i) => (X.data[i * D]! > 0 ? 1 : 0) + (X.data[i * D + 1]! > 0 ? 1 : 0));
    const XVal = rng.randnTensor([1000, D]);
    const yVal = Array.from({ length: 1000 }, (_, i) => (XVal.data[i * D]! > 0 ? 1 : 0) + (XVal.data[i * D + 1]! > 0 ? 1 : 0));
    const members = [0.1, 0.3, 1, 3].map((weightScale, k) => ({ weightScale, seed: k }));
    const pop = await lib.FullyConnectedPopulation.create(gpu, [6], { inputDim: D, numClasses: 3, useBatchnorm: true, members });
    const device = gpu.device;
    const createBindGroup = device.createBindGroup.bind(device);
    let bindGroups = 0;
    device.createBindGroup = (d: GPUBindGroupDescriptor) => {
      bindGroups++;
      return createBindGroup(d);
    };
    const events: { iteration: number; check: boolean; bindGroups: number }[] = [];
    const calls: { split: string; rows: number; models: number }[] = [];
    const accuracyModels = pop.accuracyModels.bind(pop);
    pop.accuracyModels = async (split, indices) => {
      const acc = await accuracyModels(split, indices);
      calls.push({ split, rows: indices.length, models: acc.length });
      return acc;
    };
    try {
      const solver = new lib.PopulationSolver(
        pop,
        { XTrain: X, yTrain: y, XVal, yVal },
        {
          updateRule: 'adam',
          batchSize: 100,
          numEpochs: 3,
          numTrainSamples: 1000,
          // one step a submit: a K-step form of the train plan makes its own bind groups once per K (steps-per-submit.spec.ts)
          stepsPerSubmit: 1,
          verbose: false,
          onProgress: (p) => events.push({ iteration: p.iteration, check: p.valAcc !== undefined, bindGroups }),
        },
      );
      const result = await solver.train();
      const plans = [
        ...(pop as unknown as { parts: { session: { programs: { plans: Map<string, unknown> } } } }).parts.session.programs.plans.keys(),
      ];
      return {
        status: result.status,
        events,
        end: bindGroups,
        calls,
        plans: plans.sort(),
        checks: solver.valAccHistories.map((h) => h.length),
      };
    } finally {
      delete (device as Partial<GPUDevice>).createBindGroup;
      await pop.destroy();
    }
  });
  expect(r.status).toBe('completed');
  expect(r.events.filter((e) => !e.check)).toHaveLength(36); // 1200 rows / 100 x 3 epochs
  // the checks: the first step, each epoch end (the last step is the last epoch's end): 4, each one call per split for all 4 models
  expect(r.events.filter((e) => e.check).map((e) => e.iteration)).toEqual([1, 12, 24, 36]);
  expect(r.checks).toEqual([4, 4, 4, 4]);
  expect(r.calls).toHaveLength(8);
  for (const [i, c] of r.calls.entries()) expect(c).toEqual({ split: i % 2 ? 'val' : 'train', rows: 1000, models: 4 });
  // one plan per program, each at one batch size: the accuracy plans take the 1000 rows in one pass
  expect(r.plans.filter((k) => k.startsWith('accuracy'))).toEqual(['accuracy:XTrain:1000', 'accuracy:XVal:1000']);
  // every plan is built by the end of step 1's check: nothing compiles afterwards
  const firstCheck = r.events.find((e) => e.check)!;
  expect(firstCheck.bindGroups).toBeGreaterThan(0);
  expect(r.end).toBe(firstCheck.bindGroups);
});
