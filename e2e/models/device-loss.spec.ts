// Losing the GPU mid-run (gpu.device.destroy()): recovery from the host checkpoint on a new device (also with several steps a submit), a clean stop, GPU errors naming the kernel.
import { test, expect } from '../fixtures.ts';

test('a device destroyed at step 17 of 36: the run recovers once from the epoch-1 checkpoint and ends as an uninterrupted run does, using nothing of the old device', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { data, netOpts, solverOpts } = window.setup.smallRun();
    const gpu = await window.gpuReady;
    // The uninterrupted run, on a device of its own.
    const gpuB = await lib.requestGpu({ debug: true });
    const netB = await lib.FullyConnectedNeuralNet.create(gpuB, [16, 16], netOpts);
    const solverB = new lib.Solver(netB, data, solverOpts);
    const resultB = await solverB.train();
    const paramsB = await netB.getParams();
    // The checkpoint's cost: its readback on a quiet queue against one training step.
    const idx = Uint32Array.from({ length: 10 }, (_, i) => i);
    await netB.attachData(data);
    await netB.setUpdateRule('adam', {});
    await netB.step(idx);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await netB.step(idx);
    const stepMs = (performance.now() - t0) / 5;
    const reads = [];
    for (let i = 0; i < 5; i++) reads.push((await netB.checkpoint(99)).readMs);
    const ckptBytes = netB.checkpointed!.bytes;
    await netB.destroy();
    gpuB.device.destroy();

    const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts);
    let destroyed = false;
    let submitsAtRecovery = -1;
    const recoveredGpus: string[] = [];
    const solver = new lib.Solver(net, data, {
      ...solverOpts,
      onProgress: (p) => {
        if (p.iteration === 17 && !destroyed) {
          destroyed = true;
          gpu.device.destroy();
        }
      },
      // (steps queued before the loss was known were still submitted to the old device; from here on nothing is)
      onRecovery: (rec) => {
        recoveredGpus.push(`${rec.gpu === gpu} ${rec.epoch}`);
        submitsAtRecovery = gpu.stats.submits;
      },
    });
    const result = await solver.train();
    const params = await net.getParams();
    const newGpu = net.gpu;
    let worst = 0;
    for (const [name, t] of Object.entries(paramsB)) {
      const a = params[name]!.data;
      worst = Math.max(
        worst,
        window.check.bounded(a, t.data, (i) => Math.abs(a[i]!) + Math.abs(t.data[i]!) + 1e-6),
      );
    }
    const out = {
      result,
      resultB,
      worst,
      recoveredGpus,
      losses: solver.lossHistory,
      lossesB: solverB.lossHistory,
      valAcc: solver.valAccHistory,
      valAccB: solverB.valAccHistory,
      trainAcc: solver.trainAccHistory,
      trainAccB: solverB.trainAccHistory,
      oldSubmitsAfter: gpu.stats.submits - submitsAtRecovery,
      newGpuIsOld: newGpu === gpu,
      newLost: newGpu.lostInfo !== null,
      newErrors: newGpu.errors.map((e) => e.message),
      newSubmits: newGpu.stats.submits,
      source: net.paramsSource(),
      stepMs,
      readMs: reads.sort((a, b) => a - b)[2]!,
      ckptBytes,
    };
    await net.destroy();
    newGpu.device.destroy();
    return out;
  });
  console.log(
    `checkpoint of a [16, 16] batchnorm net with Adam (${r.ckptBytes} bytes: params, state, m, v): ${r.readMs.toFixed(2)} ms to the host on a quiet queue; one training step ${r.stepMs.toFixed(2)} ms`,
  );
  expect(r.resultB.status).toBe('completed');
  expect(r.resultB.recoveries).toEqual([]);
  expect(r.result.status, r.result.message).toBe('completed');
  expect(r.result.recoveries).toHaveLength(1);
  expect(r.result.recoveries[0]!.resumedFrom).toBe(12); // the epoch-1 check (12 steps); steps 13..17 were redone
  expect(r.result.recoveries[0]!.iteration).toBeGreaterThan(12);
  expect(r.result.recoveries[0]!.reason).toMatch(/destroyed/);
  expect(r.recoveredGpus).toEqual(['false 1']);
  // Histories continuous: as long as the uninterrupted run's and equal to it (the same minibatches on the same kernels).
  expect(r.losses).toHaveLength(36);
  for (let i = 0; i < 36; i++) expect(Math.abs(r.losses[i]! - r.lossesB[i]!), `loss ${i}`).toBeLessThan(1e-5 * Math.abs(r.lossesB[i]!));
  expect(r.valAcc).toEqual(r.valAccB);
  expect(r.trainAcc).toEqual(r.trainAccB);
  expect(r.worst).toBeLessThan(1e-5); // final (best-validation) parameters and running statistics, f32 tolerance
  // Nothing of the old device afterwards: no submit on it, and no error on the new one (a foreign buffer would raise one).
  expect(r.oldSubmitsAfter).toBe(0);
  expect(r.newGpuIsOld).toBe(false);
  expect(r.newLost).toBe(false);
  expect(r.newSubmits).toBeGreaterThan(20);
  expect(r.newErrors).toEqual([]);
  expect(r.source).toEqual({ source: 'device' });
});

test('a device destroyed while a submit of 4 steps is queued: recovery from the epoch-1 checkpoint, and the run ends bit for bit as an uninterrupted one at one step a submit', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { data, netOpts, solverOpts } = window.setup.smallRun();
    const gpu = await window.gpuReady;
    const gpuB = await lib.requestGpu();
    const netB = await lib.FullyConnectedNeuralNet.create(gpuB, [16, 16], netOpts);
    const solverB = new lib.Solver(netB, data, { ...solverOpts, stepsPerSubmit: 1 });
    await solverB.train();
    const paramsB = await netB.getParams();
    await netB.destroy();
    gpuB.device.destroy();

    const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts);
    let destroyed = false;
    const solver = new lib.Solver(net, data, {
      ...solverOpts,
      stepsPerSubmit: 4,
      onProgress: (p) => {
        // step 14 of the submit of steps 13..16; the submit of steps 17..20 is already queued behind it
        if (p.iteration === 14 && !destroyed) {
          destroyed = true;
          gpu.device.destroy();
        }
      },
    });
    const result = await solver.train();
    const params = await net.getParams();
    const newGpu = net.gpu;
    const same = Object.entries(paramsB).every(([name, t]) => t.data.every((v, i) => Object.is(v, params[name]!.data[i])));
    const out = {
      result,
      same,
      losses: solver.lossHistory,
      lossesB: solverB.lossHistory,
      valAcc: solver.valAccHistory,
      valAccB: solverB.valAccHistory,
      newErrors: newGpu.errors.map((e) => e.message),
    };
    await net.destroy();
    newGpu.device.destroy();
    return out;
  });
  expect(r.result.status, r.result.message).toBe('completed');
  expect(r.result.recoveries).toHaveLength(1);
  expect(r.result.recoveries[0]!.resumedFrom).toBe(12);
  expect(r.result.recoveries[0]!.iteration).toBeGreaterThan(14);
  expect(r.losses).toEqual(r.lossesB); // all 36, bit for bit
  expect(r.valAcc).toEqual(r.valAccB);
  expect(r.same).toBe(true); // the best-validation parameters and running statistics, bit for bit
  expect(r.newErrors).toEqual([]);
});

test('a device lost again right after its recovery: a clean stop, the host checkpoint kept and downloadable', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { data, netOpts, solverOpts } = window.setup.smallRun();
    const gpu = await window.gpuReady;
    // The uninterrupted run's host checkpoint at the end of epoch 1, for comparison.
    const gpuB = await lib.requestGpu({ debug: true });
    const netB = await lib.FullyConnectedNeuralNet.create(gpuB, [16, 16], netOpts);
    const takeB = netB.checkpoint.bind(netB);
    let atEpoch1: Promise<import('../../src/index.ts').ModelCheckpoint> | null = null;
    netB.checkpoint = (i: number) => {
      const c = takeB(i);
      if (i === 12) atEpoch1 = c;
      return c;
    };
    await new lib.Solver(netB, data, solverOpts).train();
    const want = lib.unflattenStore(netB.params.layout, (await atEpoch1!)!.params);
    await netB.destroy();
    gpuB.device.destroy();

    const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts);
    let destroyed = false;
    const lines: string[] = [];
    const solver = new lib.Solver(net, data, {
      ...solverOpts,
      verbose: true,
      log: (s) => lines.push(s),
      onProgress: (p) => {
        if (p.iteration === 17 && !destroyed) {
          destroyed = true;
          gpu.device.destroy();
        }
      },
      onRecovery: (rec) => rec.gpu.device.destroy(), // the new device goes at once too
    });
    const result = await solver.train();
    const params = await net.getParams();
    let worst = 0;
    for (const [name, w] of Object.entries(want)) worst = Math.max(worst, window.check.scaled(params[name]!.data, w));
    const bytes = await net.saveSafetensors();
    const file = lib.decodeSafetensors(bytes);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))).__metadata__ as Record<string, string>;
    return {
      result,
      worst,
      source: net.paramsSource(),
      lines,
      losses: solver.lossHistory.length,
      fileW1: Array.from(file.W1!.data.slice(0, 4)),
      W1: Array.from(params.W1!.data.slice(0, 4)),
      meta,
    };
  });
  expect(r.result.status).toBe('device-lost');
  expect(r.result.recoveries).toHaveLength(1);
  expect(r.result.checkpointIteration).toBe(12);
  expect(r.result.message).toMatch(/lost again before a new checkpoint/);
  expect(r.result.message).toMatch(/host checkpoint of iteration 12/);
  expect(r.lines.some((l) => /GPU device lost at step \d+ .*continuing on a new device from iteration 12 \(epoch 1\)/.test(l))).toBe(true);
  expect(r.source).toEqual({ source: 'checkpoint', iteration: 12 });
  expect(r.worst).toBeLessThan(1e-6); // the kept parameters are the uninterrupted run's at iteration 12
  expect(r.fileW1).toEqual(r.W1);
  expect(r.meta.checkpointIteration).toBe('12');
  expect(r.losses).toBeGreaterThanOrEqual(12);
});

test("an injected validation error (a dispatch over the workgroup limit) surfaces with the kernel's name and fails the run", async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const { data, netOpts, solverOpts } = window.setup.smallRun();
    const gpu = await lib.requestGpu(); // not debug: no error scope catches it, the device's uncapturederror handler does
    const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], netOpts);
    const heard: string[] = [];
    gpu.onError((e) => heard.push(e.kernel ?? '(none)'));
    let injected = '';
    const solver = new lib.Solver(net, data, {
      ...solverOpts,
      onProgress: (p) => {
        if (p.iteration !== 3 || injected) return;
        // the compiled training plan is private: reach it as a test may, and break one dispatch of it
        type Plans = Map<string, Promise<{ dispatches: { label: string; workgroups: number[] }[] }>>;
        const plans = (net as unknown as { parts: { session: { programs: { plans: Plans } } } }).parts.session.programs.plans;
        void plans.get('train:XTrain:10')!.then((plan) => {
          const d = plan.dispatches[2]!;
          d.workgroups = [gpu.device.limits.maxComputeWorkgroupsPerDimension + 1, 1, 1];
          injected = d.label;
        });
      },
    });
    const result = await solver.train();
    const keys = [
      ...(net as unknown as { parts: { session: { programs: { plans: Map<string, unknown> } } } }).parts.session.programs.plans.keys(),
    ];
    const out = {
      keys,
      result,
      injected,
      heard,
      errors: gpu.errors.map((e) => ({ kind: e.kind, kernel: e.kernel, message: e.message })),
      losses: solver.lossHistory.length,
    };
    await net.destroy();
    gpu.device.destroy();
    return out;
  });
  console.log(`uncaptured ${r.errors[0]?.kind} error naming "${r.errors[0]?.kernel}": ${r.errors[0]?.message.split('\n')[0]}`);
  expect(r.injected, JSON.stringify([r.keys, r.result])).not.toBe('');
  expect(r.errors.length).toBeGreaterThanOrEqual(1);
  expect(r.errors[0]!.kind).toBe('validation');
  expect(r.errors[0]!.kernel).toBe(r.injected);
  expect(r.errors[0]!.message).toMatch(/workgroup/i);
  expect(r.heard[0]).toBe(r.injected);
  expect(r.result.status).toBe('failed');
  expect(r.result.message).toContain(`GPU validation error in "${r.injected}"`);
  expect(r.losses).toBeLessThan(36);
});
