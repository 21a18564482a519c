// L2 regularization in headless Chromium vs the float64 reference: dw += reg w with its loss term, and every loss term of
// a step in one launch per buffer. (The softmax loss and accuracy: losses-softmax.spec.ts.)
import { testOnOnePage as test, expect } from '../fixtures.ts';

// Thresholds (seed's relError = max|a - b| / max(1e-8, |a| + |b|)):
//   L2 dw += reg w: elementwise, but dw + reg w can cancel to ~0, so |diff| / (|dw| + |reg w|) < 1e-5;
//   the loss term 0.5 reg sum w^2 (a reduction) relError < 1e-4.

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
