// Several training steps in one submit on the GPU: the same losses, accuracies and parameters bit for bit as one step a submit (a net, a population), the float64 reference's losses, and no new GPU objects in the steady state.
import { test, expect } from '../fixtures.ts';

test('a net trained at 1, 3 and 8 steps a submit: the same histories and parameters bit for bit, the float64 losses, fewer submits', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { data, netOpts, solverOpts } = window.setup.smallRun();
    const gpu = await window.gpuReady;
    const runs = [];
    for (const stepsPerSubmit of [1, 3, 8]) {
      const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts);
      const submits = gpu.stats.submits;
      const solver = new lib.Solver(net, data, { ...solverOpts, stepsPerSubmit });
      const result = await solver.train();
      const params = await net.getParams();
      runs.push({
        stepsPerSubmit,
        status: result.status,
        submits: gpu.stats.submits - submits,
        losses: solver.lossHistory,
        trainAcc: solver.trainAccHistory,
        valAcc: solver.valAccHistory,
        params: Object.fromEntries(Object.entries(params).map(([k, t]) => [k, Array.from(t.data)])),
      });
      await net.destroy();
    }
    const cpu = new lib.Solver(lib.createReferenceTrainer(new lib.reference.FullyConnectedNeuralNet([16, 16], netOpts)), data, {
      ...solverOpts,
      stepsPerSubmit: 8, // the reference has no many-step method: one step at a time
    });
    await cpu.train();
    return { runs, cpu: cpu.lossHistory };
  });
  const [one, ...others] = r.runs;
  expect(one!.status).toBe('completed');
  expect(one!.losses).toHaveLength(36);
  for (const o of others) {
    expect(o.status).toBe('completed');
    expect(o.losses, `${o.stepsPerSubmit} steps a submit`).toEqual(one!.losses); // bit for bit
    expect(o.trainAcc).toEqual(one!.trainAcc);
    expect(o.valAcc).toEqual(one!.valAcc);
    for (const [name, values] of Object.entries(one!.params)) expect(o.params[name], name).toEqual(values);
  }
  // 36 steps: at 8 a submit (groups cut at the checks after steps 1, 12, 24, 36) 1 + 2 + 2 + 2 submits, not 36
  expect(r.runs[2]!.submits).toBeLessThan(one!.submits - 25);
  expect(r.cpu).toHaveLength(36);
  one!.losses.forEach((l, i) => expect(Math.abs(l - r.cpu[i]!) / r.cpu[i]!, `step ${i + 1} against float64`).toBeLessThan(1e-3));
});

test('stepMany equals as many step calls, bit for bit; in the steady state it makes one submit and no buffers, bind groups or pipelines', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { rng, data, netOpts } = window.setup.smallRun();
    const gpu = await window.gpuReady;
    const rows = Array.from({ length: 15 }, () => Uint32Array.from({ length: 10 }, () => rng.randint(120)));
    const train = async (many: boolean) => {
      const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts);
      await net.attachData(data);
      await net.setUpdateRule('adam', { learningRate: 5e-3 });
      const losses: number[] = [];
      let steady = null;
      if (!many) for (const x of rows) losses.push(await net.step(x));
      else {
        losses.push(...(await net.stepMany(rows.slice(0, 5))));
        const before = { ...gpu.stats };
        losses.push(...(await net.stepMany(rows.slice(5, 10))));
        const after = { ...gpu.stats };
        steady = {
          submits: after.submits - before.submits,
          buffers: after.buffersCreated - before.buffersCreated,
          bindGroups: after.bindGroupsCreated - before.bindGroupsCreated,
          pipelines: after.pipelinesCreated - before.pipelinesCreated,
        };
        losses.push(...(await net.stepMany(rows.slice(10, 13))), ...(await net.stepMany(rows.slice(13))));
      }
      const params = Object.fromEntries(Object.entries(await net.getParams()).map(([k, t]) => [k, Array.from(t.data)]));
      let refused = '';
      await net.stepMany([rows[0]!, rows[1]!.subarray(0, 7)]).catch((e: Error) => (refused = e.message));
      await net.destroy();
      return { losses, params, steady, refused };
    };
    return { one: await train(false), many: await train(true) };
  });
  expect(r.many.losses).toHaveLength(15);
  expect(r.many.losses).toEqual(r.one.losses);
  for (const [name, values] of Object.entries(r.one.params)) expect(r.many.params[name], name).toEqual(values);
  expect(r.many.steady).toEqual({ submits: 1, buffers: 0, bindGroups: 0, pipelines: 0 });
  expect(r.many.refused).toMatch(/step 1 has 7 rows, step 0 has 10/);
});

test('a population at 4 steps a submit: each model as at one step a submit, bit for bit (Adam with batchnorm; SGD with a model diverging, frozen at the same step)', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { data, netOpts, solverOpts } = window.setup.smallRun();
    const gpu = await window.gpuReady;
    const cases = [
      {
        name: 'adam',
        net: netOpts,
        members: [0.1, 0.2, 0.3].map((weightScale, k) => ({ weightScale, seed: 4 + k })),
        rule: 'adam',
        lrs: [5e-3, 1e-2, 2e-3],
      },
      // model 1: a learning rate near f32's largest: batchnorm keeps every ReLU alive (a column is half positive), so
      // after one step gamma and the weights are of the learning rate's size and the loss overflows at step 3, whatever
      // the initial weights (a smaller rate left the loss finite: batchnorm rescales what the weights grow)
      {
        name: 'sgd',
        net: netOpts,
        members: [{ seed: 1 }, { seed: 2, weightScale: 1 }, { seed: 3 }],
        rule: 'sgd',
        lrs: [1e-2, 1e38, 1e-2],
      },
    ];
    const out = [];
    for (const c of cases)
      for (const stepsPerSubmit of [1, 4]) {
        const pop = await lib.FullyConnectedPopulation.create(gpu, [16, 12], { ...c.net, members: c.members });
        const ps = new lib.PopulationSolver(pop, data, { ...solverOpts, updateRule: c.rule, learningRates: c.lrs, stepsPerSubmit });
        const result = await ps.train();
        const params = Object.fromEntries(Object.entries(await pop.getParams()).map(([k, t]) => [k, Array.from(t.data)]));
        const divergedAt = ps.divergedAt.map((d) => d ?? 0);
        out.push({
          name: c.name,
          stepsPerSubmit,
          status: result.status,
          losses: ps.lossHistories,
          valAcc: ps.valAccHistories,
          divergedAt,
          params,
        });
        await pop.destroy();
      }
    return out;
  });
  for (const [one, four] of [r.slice(0, 2), r.slice(2, 4)]) {
    expect(one!.status, one!.name).toBe('completed');
    expect(four!.divergedAt, one!.name).toEqual(one!.divergedAt);
    expect(four!.losses, one!.name).toEqual(one!.losses);
    expect(four!.valAcc, one!.name).toEqual(one!.valAcc);
    for (const [name, values] of Object.entries(one!.params)) expect(four!.params[name], `${one!.name} ${name}`).toEqual(values);
  }
  expect(r[0]!.divergedAt).toEqual([0, 0, 0]);
  expect(r[2]!.divergedAt[1]).toBeGreaterThan(1); // diverged after the first step (a group of its own), so in a group of several
  expect(r[2]!.divergedAt[0]).toBe(0);
});
