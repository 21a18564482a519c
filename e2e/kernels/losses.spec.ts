// Loss-side kernels in headless Chromium vs the float64 reference: softmax loss, L2 regularization, accuracy, ReLU backward.
import { test, expect } from '../fixtures.ts';

// Thresholds (seed's relError = max|a - b| / max(1e-8, |a| + |b|)):
//   softmax dscores: elementwise relError < 1e-5; the loss (a mean over rows) relError < 1e-4.
//   L2 dw += reg w: elementwise, but dw + reg w can cancel to ~0, so |diff| / (|dw| + |reg w|) < 1e-5;
//   the loss term 0.5 reg sum w^2 (a reduction) relError < 1e-4.
//   accuracy and ReLU: exact.

test('softmax loss and gradient vs the reference (incl. large scores, c = 1, bad label -> NaN)', async ({ harness }) => {
  const results = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(11);
    const cases: [number, number, number][] = [
      [1, 10, 0],
      [2, 1, 0],
      [7, 3, 0],
      [50, 10, 0],
      [257, 10, 1000],
      [300, 101, -50],
      [1000, 10, 0],
    ];
    const out: Record<string, number>[] = [];
    for (const [n, c, shift] of cases) {
      const scope = lib.createScope(gpu);
      const scores = ref.makeTensor([n, c], Float32Array.from(rng.randnTensor([n, c], 3, shift).data));
      const y = Array.from({ length: n }, () => rng.randint(c));
      const want = ref.softmaxLoss(scores, y);
      const sb = scope.createTensorBuffer(Float32Array.from(scores.data), 'scores');
      const yb = scope.createTensorBuffer(Uint32Array.from(y), 'y');
      const loss = scope.createTensorBuffer(Float32Array.of(7, 8, NaN), 'loss');
      const dscores = window.setup.poisoned(scope, n * c, 'dscores');
      await lib.runDispatches(gpu, await lib.createSoftmaxLoss(scope, { scores: sb, y: yb, loss, lossIndex: 2, dscores, n, c }), 'softmax');
      const l = await lib.readF32(gpu, loss, 3);
      out.push({
        n,
        c,
        shift,
        loss: ref.relError(l[2]!, want.loss),
        others: l[0] === 7 && l[1] === 8 ? 0 : 1,
        dscores: ref.relError(await lib.readF32(gpu, dscores, n * c), want.dx.data),
      });
      scope.destroy();
    }
    // Host form, and an out-of-range label on the device form.
    const scores = ref.makeTensor([4, 5], Float32Array.from(rng.randnTensor([4, 5]).data));
    const host = await lib.softmaxLoss(gpu, scores, [0, 4, 2, 1]);
    const want = ref.softmaxLoss(scores, [0, 4, 2, 1]);
    let hostBadLabel = '';
    try {
      await lib.softmaxLoss(gpu, scores, [0, 5, 2, 1]);
    } catch (e) {
      hostBadLabel = (e as Error).message;
    }
    const scope = lib.createScope(gpu);
    const loss = scope.createTensorBuffer(4, 'loss');
    await lib.runDispatches(
      gpu,
      await lib.createSoftmaxLoss(scope, {
        scores: scope.createTensorBuffer(Float32Array.from(scores.data), 's'),
        y: scope.createTensorBuffer(Uint32Array.of(0, 5, 2, 1), 'y'),
        loss,
        dscores: scope.createTensorBuffer(80, 'ds'),
        n: 4,
        c: 5,
      }),
      'softmax bad label',
    );
    const badLoss = (await lib.readF32(gpu, loss, 1))[0]!;
    scope.destroy();
    return {
      out,
      host: { loss: ref.relError(host.loss, want.loss), dx: ref.relError(host.dx.data, want.dx.data), shape: host.dx.shape },
      hostBadLabel,
      badLossIsNaN: Number.isNaN(badLoss),
    };
  });
  for (const r of results.out) {
    const at = `n=${r.n} c=${r.c} scores 3 randn + ${r.shift}`;
    expect(r.loss, `loss ${at}`).toBeLessThan(1e-4);
    expect(r.dscores, `dscores ${at}`).toBeLessThan(1e-5);
    expect(r.others, `other loss slots untouched ${at}`).toBe(0);
  }
  console.log(
    `softmax: worst loss relError ${Math.max(...results.out.map((r) => r.loss!)).toExponential(2)}, dscores ${Math.max(...results.out.map((r) => r.dscores!)).toExponential(2)}`,
  );
  expect(results.host.loss).toBeLessThan(1e-4);
  expect(results.host.dx).toBeLessThan(1e-5);
  expect(results.host.shape).toEqual([4, 5]);
  expect(results.hostBadLabel).toContain('y[1] = 5');
  expect(results.badLossIsNaN, 'an out-of-range label makes the device loss NaN').toBe(true);
});

test('L2 regularization: dw += reg w and 0.5 reg sum w^2 vs the reference', async ({ harness }) => {
  const results = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(12);
    const out: Record<string, number>[] = [];
    for (const [count, reg] of [
      [1, 0.5],
      [7, 3.14],
      [1000, 0.37],
      [3072 * 100, 0.37],
      [65537 + 31, 1e-3],
      [100, 0],
    ] as const) {
      const scope = lib.createScope(gpu);
      const w = Float32Array.from(rng.randnTensor([count], 0.05).data);
      const dw = Float32Array.from(rng.randnTensor([count]).data);
      const wb = scope.createTensorBuffer(w, 'w');
      const dwb = scope.createTensorBuffer(dw, 'dw');
      const loss = scope.createTensorBuffer(Float32Array.of(NaN, 5), 'loss');
      const list = await lib.createL2Regularization(scope, { w: wb, dw: dwb, count, reg, loss, lossIndex: 0 });
      await lib.runDispatches(gpu, list, 'l2');
      const got = await lib.readF32(gpu, dwb, count);
      let dwErr = 0;
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const want = dw[i]! + reg * w[i]!;
        const e = Math.abs(got[i]! - want) / Math.max(1e-30, Math.abs(dw[i]!) + Math.abs(reg * w[i]!));
        if (!(e <= dwErr)) dwErr = e;
        sum += w[i]! * w[i]!;
      }
      const l = await lib.readF32(gpu, loss, 2);
      out.push({ count, reg, dw: dwErr, loss: reg === 0 ? Math.abs(l[0]!) : ref.relError(l[0]!, 0.5 * reg * sum), other: l[1]! });
      scope.destroy();
    }
    return out;
  });
  for (const r of results) {
    const at = `count=${r.count} reg=${r.reg}`;
    expect(r.dw, `dw ${at}`).toBeLessThan(1e-5);
    expect(r.loss, `loss ${at}`).toBeLessThan(1e-4);
    expect(r.other, `other loss slot untouched ${at}`).toBe(5);
  }
});

test('L2 loss terms of a step in one launch per buffer: every chunk slot 0.5 reg sum w^2 vs float64, per model, tensors at store offsets', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(15);
    const models = 2;
    const chunk = lib.l2ChunkElements;
    // three tensors in one store (256-byte aligned starts; 2.4 chunks, a ragged 53 x 7, one element) and one alone
    const perModel = [Math.floor(2.4 * chunk), 53 * 7, 1, 7];
    const regs: (number | number[])[] = [[0.37, 0], [1.5, 2], 0.25, 3];
    const starts = [0];
    for (let t = 1; t < 3; t++) starts.push(Math.ceil((starts[t - 1]! + perModel[t - 1]! * models) / 64) * 64);
    const storeLength = starts[2]! + perModel[2]! * models;
    const store = new Float32Array(storeLength);
    const values = perModel.map((n, t) => {
      const v = Float32Array.from(rng.randnTensor([n * models], 0.3).data);
      if (t < 3) store.set(v, starts[t]!);
      return v;
    });
    const scope = lib.createScope(gpu);
    const storeBuf = scope.createTensorBuffer(store, 'store');
    const alone = scope.createTensorBuffer(values[3]!, 'alone');
    const slots = lib.makeL2LossSlots(perModel);
    const lossStride = 1 + slots.reduce((a, b) => a + b, 0);
    const loss = scope.createTensorBuffer(new Float32Array(models * lossStride).fill(NaN), 'loss');
    gpu.device.queue.writeBuffer(loss, 0, Float32Array.of(7));
    gpu.device.queue.writeBuffer(loss, lossStride * 4, Float32Array.of(8));
    const terms = perModel.map((n, t) => ({
      w: t < 3 ? { buffer: storeBuf, offset: starts[t]! * 4, size: n * models * 4 } : alone,
      perModel: n,
      reg: regs[t]!,
    }));
    const list = await lib.createL2Losses(scope, { terms, models, loss, lossIndex: 1, lossStride });
    await lib.runDispatches(gpu, list, 'l2 losses');
    const got = await lib.readF32(gpu, loss, models * lossStride);
    let worst = 0;
    let slot = 1;
    const zeros: number[] = [];
    perModel.forEach((n, t) => {
      for (let k = 0; k < models; k++) {
        const reg = typeof regs[t] === 'number' ? (regs[t] as number) : (regs[t] as number[])[k]!;
        for (let c = 0; c < slots[t]!; c++) {
          let sum = 0;
          for (let i = c * chunk; i < Math.min(n, (c + 1) * chunk); i++) sum += values[t]![k * n + i]! ** 2;
          const g = got[k * lossStride + slot + c]!;
          if (reg === 0) zeros.push(g);
          else worst = Math.max(worst, ref.relError(g, 0.5 * reg * sum));
        }
      }
      slot += slots[t]!;
    });
    scope.destroy();
    return { worst, zeros, firsts: [got[0], got[lossStride]], dispatches: list.length, slots, lossStride };
  });
  expect(r.slots).toEqual([3, 1, 1, 1]);
  expect(r.worst, 'every chunk slot').toBeLessThan(1e-4);
  expect(r.zeros, 'reg 0: slots of 0').toEqual([0, 0, 0]);
  expect(r.firsts, 'the cross-entropy slots untouched').toEqual([7, 8]);
  expect(r.dispatches, 'one launch per buffer').toBe(2);
});

test('accuracy: argmax (first max on ties) == y counted into a u32 slot, accumulating', async ({ harness }) => {
  const results = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(13);
    const out: Record<string, number>[] = [];
    for (const [n, c] of [
      [1, 10],
      [50, 10],
      [257, 3],
      [5000, 10],
      [33, 1],
    ] as const) {
      const scope = lib.createScope(gpu);
      const scores = Float32Array.from(rng.randnTensor([n, c]).data);
      // Ties: every 7th row gets its max copied into a later column, and half of those rows are labelled with the later column.
      const y = new Uint32Array(n);
      let expected = 0;
      for (let i = 0; i < n; i++) {
        const row = scores.subarray(i * c, (i + 1) * c);
        let arg = 0;
        for (let j = 1; j < c; j++) if (row[j]! > row[arg]!) arg = j;
        let tieCol = -1;
        if (i % 7 === 0 && arg + 1 < c) {
          tieCol = c - 1;
          row[tieCol] = row[arg]!;
        }
        const r = rng.uniform();
        y[i] = tieCol >= 0 && i % 14 === 0 ? tieCol : r < 0.5 ? arg : rng.randint(c);
        if (y[i] === arg) expected++;
      }
      const correct = scope.createTensorBuffer(Uint32Array.of(0, 0, 0), 'correct');
      const list = await lib.createAccuracy(scope, {
        scores: scope.createTensorBuffer(scores, 'scores'),
        y: scope.createTensorBuffer(y, 'y'),
        n,
        c,
        correct,
        correctIndex: 1,
      });
      await lib.runDispatches(gpu, list, 'accuracy');
      const once = new Uint32Array(await lib.readBuffer(gpu, correct, 12));
      await lib.runDispatches(gpu, list, 'accuracy again');
      const twice = new Uint32Array(await lib.readBuffer(gpu, correct, 12));
      out.push({ n, c, expected, once: once[1]!, twice: twice[1]!, others: once[0]! + once[2]! + twice[0]! + twice[2]! });
      scope.destroy();
    }
    return out;
  });
  for (const r of results) {
    const at = `n=${r.n} c=${r.c}`;
    expect(r.once, `count ${at}`).toBe(r.expected);
    expect(r.twice, `accumulates ${at}`).toBe(2 * r.expected!);
    expect(r.others, `other slots untouched ${at}`).toBe(0);
  }
  expect(results.find((r) => r.n === 5000)!.expected).toBeGreaterThan(2000);
});

test('ReLU backward (device and host forms) vs the reference, gradient 0 at x = 0', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(14);
    const n = 10007;
    const x = ref.makeTensor([n], Float32Array.from(rng.randnTensor([n]).data.map((v, i) => (i % 10 === 0 ? 0 : v))));
    const dout = ref.makeTensor([n], Float32Array.from(rng.randnTensor([n], 2, 0.5).data));
    const want = ref.reluBackward(dout, ref.reluForward(x).cache);
    const scope = lib.createScope(gpu);
    const dx = window.setup.poisoned(scope, n, 'dx');
    await lib.runDispatches(
      gpu,
      [
        await lib.createReluBackward(scope, {
          x: scope.createTensorBuffer(Float32Array.from(x.data), 'x'),
          dout: scope.createTensorBuffer(Float32Array.from(dout.data), 'dout'),
          dx,
          n,
        }),
      ],
      'relu backward',
    );
    const device = await lib.readF32(gpu, dx, n);
    scope.destroy();
    const x2 = { data: x.data.subarray(0, 60), shape: [3, 20] };
    const fwd = await lib.reluForward(gpu, x2);
    const host = await lib.reluBackward(gpu, { data: dout.data.subarray(0, 60), shape: [3, 20] }, fwd.cache);
    const wantFwd = ref.reluForward(ref.makeTensor([3, 20], x2.data));
    return {
      device: ref.relError(device, want.data),
      host: ref.relError(host.data, want.data.subarray(0, 60)),
      fwd: ref.relError(fwd.out.data, wantFwd.out.data),
      shape: host.shape,
      zeros: x.data.filter((v) => v === 0).length,
    };
  });
  expect(r.zeros).toBeGreaterThan(1000);
  expect(r.device).toBe(0);
  expect(r.host).toBe(0);
  expect(r.fwd).toBe(0);
  expect(r.shape).toEqual([3, 20]);
});
