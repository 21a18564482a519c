// Minibatch gather in headless Chromium vs the CPU: packed uint8 rows by index, minus the mean image, exact in f32.
import { test, expect } from './fixtures.ts';

test('gather: out[i, j] = images[indices[i], j] - mean[j] for packed uint8, odd dims, bounds check', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(31);
    const out: Record<string, number>[] = [];
    for (const [count, dim, batch] of [[37, 3072, 50], [5, 7, 13], [1, 1, 3], [101, 13, 200], [9, 48, 7], [3, 16, 1]] as const) {
      const scope = lib.createScope(gpu);
      const bytes = Uint8Array.from({ length: count * dim }, () => rng.randint(256));
      const mean = Float32Array.from({ length: dim }, () => 255 * rng.uniform());
      const indices = Uint32Array.from({ length: batch }, (_, i) => (i === 0 ? count - 1 : i === 1 ? 0 : rng.randint(count)));
      const ob = scope.createTensorBuffer(new Float32Array(batch * dim).fill(NaN), 'out');
      const list = await lib.createGather(scope, {
        images: scope.createTensorBuffer(lib.packUint8(bytes), 'images'), mean: scope.createTensorBuffer(mean, 'mean'),
        indices: scope.createTensorBuffer(indices, 'indices'), out: ob, batch, dim, count,
      });
      await lib.runDispatches(gpu, list, 'gather');
      const got = await lib.readF32(gpu, ob, batch * dim);
      let mismatches = 0;
      for (let i = 0; i < batch; i++) {
        for (let j = 0; j < dim; j++) {
          if (got[i * dim + j] !== Math.fround(bytes[indices[i]! * dim + j]! - mean[j]!)) mismatches++;
        }
      }
      out.push({ count, dim, batch, mismatches });
      scope.destroy();
    }
    // An index past the end gives a NaN row, the other rows are still right.
    const scope = lib.createScope(gpu);
    const ob = scope.createTensorBuffer(new Float32Array(6).fill(7), 'out');
    await lib.runDispatches(gpu, await lib.createGather(scope, {
      images: scope.createTensorBuffer(lib.packUint8(Uint8Array.of(1, 2, 3, 4, 5, 6)), 'images'), mean: scope.createTensorBuffer(Float32Array.of(0.5, 1, 1.5), 'mean'),
      indices: scope.createTensorBuffer(Uint32Array.of(1, 2), 'indices'), out: ob, batch: 2, dim: 3, count: 2,
    }), 'gather out of range');
    const bounds = Array.from(await lib.readF32(gpu, ob, 6));
    // The same on the 16-pixels-per-invocation path (dim a multiple of 16).
    const ob16 = scope.createTensorBuffer(new Float32Array(64).fill(7), 'out16');
    await lib.runDispatches(gpu, await lib.createGather(scope, {
      images: scope.createTensorBuffer(lib.packUint8(Uint8Array.from({ length: 64 }, (_, i) => i)), 'images16'), mean: scope.createTensorBuffer(new Float32Array(32).fill(0.5), 'mean16'),
      indices: scope.createTensorBuffer(Uint32Array.of(1, 2), 'indices16'), out: ob16, batch: 2, dim: 32, count: 2,
    }), 'gather out of range, dim 32');
    const bounds16 = Array.from(await lib.readF32(gpu, ob16, 64));
    scope.destroy();
    return { out, bounds, bounds16, packed: Array.from(lib.packUint8(Uint8Array.of(1, 2, 3, 4, 5))) };
  });
  for (const c of r.out) expect(c.mismatches, `count=${c.count} dim=${c.dim} batch=${c.batch}`).toBe(0);
  expect(r.bounds.slice(0, 3)).toEqual([3.5, 4, 4.5]);
  expect(r.bounds.slice(3).every(Number.isNaN)).toBe(true);
  expect(r.bounds16.slice(0, 32)).toEqual(Array.from({ length: 32 }, (_, j) => 32 + j - 0.5));
  expect(r.bounds16.slice(32).every(Number.isNaN)).toBe(true);
  expect(r.packed).toEqual([0x04030201, 5]);
});

test('row gather copies 32-bit rows by index; an index past the end writes NaN, not another row', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rows = 7; const dim = 5; const batch = 4;
    const src = Float32Array.from({ length: rows * dim }, (_, i) => 1.5 + i);
    const indices = Uint32Array.of(6, 0, 9, 3);
    const scope = lib.createScope(gpu);
    const out = scope.createTensorBuffer(new Float32Array(batch * dim).fill(-1), 'out');
    const d = await lib.createGatherRows(scope, { src: scope.createTensorBuffer(src, 'src'), indices: scope.createTensorBuffer(indices, 'idx'), out, batch, dim, rows });
    await lib.runDispatches(gpu, d, 'gather-rows');
    const got = Array.from(await lib.readF32(gpu, out, batch * dim));
    let err = '';
    try { await lib.createGatherRows(scope, { src: out, indices: out, out, batch: 100, dim, rows }); } catch (e) { err = (e as Error).message; }
    scope.destroy();
    return { got, err };
  });
  const row = (k: number) => Array.from({ length: 5 }, (_, j) => 1.5 + k * 5 + j);
  expect(r.got.slice(0, 5)).toEqual(row(6));
  expect(r.got.slice(5, 10)).toEqual(row(0));
  expect(r.got.slice(10, 15).every((v) => v === null || Number.isNaN(v))).toBe(true); // NaN comes back as null through evaluate
  expect(r.got.slice(15, 20)).toEqual(row(3));
  expect(r.err).toMatch(/gather-rows/);
});
