// Minibatch gather in headless Chromium vs the CPU: packed uint8 rows by index, minus the mean image, exact in f32.
import { test, expect } from '../fixtures.ts';

test('gather: out[i, j] = images[indices[i], j] - mean[j] for packed uint8, odd dims, bounds check', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(31);
    const out: Record<string, number>[] = [];
    for (const [count, dim, batch] of [
      [37, 3072, 50],
      [5, 7, 13],
      [1, 1, 3],
      [101, 13, 200],
      [9, 48, 7],
      [3, 16, 1],
    ] as const) {
      const scope = lib.createScope(gpu);
      const bytes = Uint8Array.from({ length: count * dim }, () => rng.randint(256));
      const mean = Float32Array.from({ length: dim }, () => 255 * rng.uniform());
      const indices = Uint32Array.from({ length: batch }, (_, i) => (i === 0 ? count - 1 : i === 1 ? 0 : rng.randint(count)));
      const ob = window.setup.poisoned(scope, batch * dim, 'out');
      const list = await lib.createGather(scope, {
        images: scope.createTensorBuffer(lib.packUint8(bytes), 'images'),
        mean: scope.createTensorBuffer(mean, 'mean'),
        indices: scope.createTensorBuffer(indices, 'indices'),
        out: ob,
        batch,
        dim,
        count,
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
    await lib.runDispatches(
      gpu,
      await lib.createGather(scope, {
        images: scope.createTensorBuffer(lib.packUint8(Uint8Array.of(1, 2, 3, 4, 5, 6)), 'images'),
        mean: scope.createTensorBuffer(Float32Array.of(0.5, 1, 1.5), 'mean'),
        indices: scope.createTensorBuffer(Uint32Array.of(1, 2), 'indices'),
        out: ob,
        batch: 2,
        dim: 3,
        count: 2,
      }),
      'gather out of range',
    );
    const bounds = Array.from(await lib.readF32(gpu, ob, 6));
    // The same on the 16-pixels-per-invocation path (dim a multiple of 16).
    const ob16 = scope.createTensorBuffer(new Float32Array(64).fill(7), 'out16');
    await lib.runDispatches(
      gpu,
      await lib.createGather(scope, {
        images: scope.createTensorBuffer(lib.packUint8(Uint8Array.from({ length: 64 }, (_, i) => i)), 'images16'),
        mean: scope.createTensorBuffer(new Float32Array(32).fill(0.5), 'mean16'),
        indices: scope.createTensorBuffer(Uint32Array.of(1, 2), 'indices16'),
        out: ob16,
        batch: 2,
        dim: 32,
        count: 2,
      }),
      'gather out of range, dim 32',
    );
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
    const rows = 7;
    const dim = 5;
    const batch = 4;
    const src = Float32Array.from({ length: rows * dim }, (_, i) => 1.5 + i);
    const indices = Uint32Array.of(6, 0, 9, 3);
    const scope = lib.createScope(gpu);
    const out = scope.createTensorBuffer(new Float32Array(batch * dim).fill(-1), 'out');
    const d = await lib.createGatherRows(scope, {
      src: scope.createTensorBuffer(src, 'src'),
      indices: scope.createTensorBuffer(indices, 'idx'),
      out,
      batch,
      dim,
      rows,
    });
    await lib.runDispatches(gpu, d, 'gather-rows');
    const got = Array.from(await lib.readF32(gpu, out, batch * dim));
    let err = '';
    try {
      await lib.createGatherRows(scope, { src: out, indices: out, out, batch: 100, dim, rows });
    } catch (e) {
      err = (e as Error).message;
    }
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

test('chunked gathers (data larger than one binding) equal the CPU: uint8 and 32-bit rows with their labels in the same launches, every chunk size, last chunk short', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(41);
    const out: { what: string; mismatches: number; nanRows: number; labelMismatches: number }[] = [];
    for (const [count, dim, batch, chunkRows] of [
      [37, 3072, 50, 10],
      [23, 7, 40, 1],
      [23, 7, 40, 5],
      [101, 13, 200, 17],
      [9, 48, 30, 4],
      [9, 48, 30, 9],
    ] as const) {
      const scope = lib.createScope(gpu);
      const bytes = Uint8Array.from({ length: count * dim }, () => rng.randint(256));
      const mean = Float32Array.from({ length: dim }, () => 255 * rng.uniform());
      // every row index, both ends of every chunk, and one index past the end (a NaN row)
      const indices = Uint32Array.from({ length: batch }, (_, i) => (i === batch - 1 ? count + 3 : i < count ? i : rng.randint(count)));
      const chunks: GPUBuffer[] = [];
      const words: GPUBuffer[] = [];
      const f32 = Float32Array.from(bytes, (b, k) => b + k / 7);
      for (let base = 0; base < count; base += chunkRows) {
        const n = Math.min(chunkRows, count - base);
        chunks.push(scope.createTensorBuffer(lib.packUint8(bytes.subarray(base * dim, (base + n) * dim)), `images ${base}`));
        words.push(scope.createTensorBuffer(f32.subarray(base * dim, (base + n) * dim), `rows ${base}`));
      }
      const ob = scope.createTensorBuffer(new Float32Array(batch * dim).fill(7), 'out');
      const ow = scope.createTensorBuffer(new Float32Array(batch * dim).fill(7), 'out words');
      const ib = scope.createTensorBuffer(indices, 'indices');
      const labels = Uint32Array.from({ length: count }, () => rng.randint(1000));
      const yb = scope.createTensorBuffer(labels, 'labels');
      const oy = scope.createTensorBuffer(new Uint32Array(batch).fill(0xdeadbeef), 'labels out');
      const oyw = scope.createTensorBuffer(new Uint32Array(batch).fill(0xdeadbeef), 'labels out words');
      const list = await lib.createGather(scope, {
        images: chunks,
        chunkRows,
        mean: scope.createTensorBuffer(mean, 'mean'),
        indices: ib,
        out: ob,
        batch,
        dim,
        count,
        labels: { y: yb, out: oy },
      });
      const listW = await lib.createGatherRows(scope, {
        src: words,
        chunkRows,
        indices: ib,
        out: ow,
        batch,
        dim,
        rows: count,
        labels: { y: yb, out: oyw },
      });
      await lib.runDispatches(gpu, [...list, ...listW], 'chunked gathers');
      const got = await lib.readF32(gpu, ob, batch * dim);
      const gotW = await lib.readF32(gpu, ow, batch * dim);
      const gotY = new Uint32Array(await lib.readBuffer(gpu, oy, batch * 4));
      const gotYW = new Uint32Array(await lib.readBuffer(gpu, oyw, batch * 4));
      // a label by the same index; past the end a label no class has (0x7fc00000 | low byte), so the loss turns NaN
      const wantY = Array.from(indices, (k) => (k < count ? labels[k]! : (0x7fc00000 | (k & 0xff)) >>> 0));
      const labelMismatches = (got: Uint32Array) => wantY.filter((v, i) => got[i] !== v).length;
      let mismatches = 0;
      let mismatchesW = 0;
      let nanRows = 0;
      for (let i = 0; i < batch; i++) {
        if (indices[i]! >= count) {
          if (got.subarray(i * dim, (i + 1) * dim).every(Number.isNaN) && gotW.subarray(i * dim, (i + 1) * dim).every(Number.isNaN))
            nanRows++;
          continue;
        }
        for (let j = 0; j < dim; j++) {
          if (got[i * dim + j] !== Math.fround(bytes[indices[i]! * dim + j]! - mean[j]!)) mismatches++;
          if (gotW[i * dim + j] !== f32[indices[i]! * dim + j]) mismatchesW++;
        }
      }
      const what = `count=${count} dim=${dim} chunkRows=${chunkRows} (${chunks.length} chunks, ${list.length} + ${listW.length} dispatches)`;
      out.push(
        { what: `uint8 ${what}`, mismatches, nanRows, labelMismatches: labelMismatches(gotY) },
        { what: `words ${what}`, mismatches: mismatchesW, nanRows, labelMismatches: labelMismatches(gotYW) },
      );
      scope.destroy();
    }
    // chunks that do not cover the rows are an error that says so
    const scope = lib.createScope(gpu);
    const b = scope.createTensorBuffer(16, 'b');
    const bad = await lib.createGatherRows(scope, { src: [b, b], chunkRows: 2, indices: b, out: b, batch: 1, dim: 1, rows: 5 }).then(
      () => '',
      (e: Error) => e.message,
    );
    scope.destroy();
    return { out, bad };
  });
  for (const c of r.out) {
    expect(c.mismatches, c.what).toBe(0);
    expect(c.nanRows, c.what).toBe(1);
    expect(c.labelMismatches, `labels, ${c.what}`).toBe(0);
  }
  // one launch per chunk: the labels add none
  expect(r.out[0]!.what).toContain('4 chunks, 4 + 4 dispatches');
  expect(r.out.at(-1)!.what).toContain('1 chunks, 1 + 1 dispatches');
  expect(r.bad).toBe('gather-rows: 2 chunks of 2 rows do not hold 5 rows (that takes 3)');
});
