// Affine layer in headless Chromium vs the float64 reference (src/reference/layers.ts): forward, backward, first-layer backward.
import { test, expect } from '../fixtures.ts';
import { testSeed } from '../seed.ts';

// Threshold per output: max|gpu - ref| / max|ref| < 1e-4 (out, dx, dW are matmuls, db a column sum;
// all reductions of f32 products, checked against the float64 reference's analytic gradients; no
// numerical gradient is involved).
const tol = 1e-4;

// [x shape, m, db's row splits forced]: the seed's 4-D input, 1s, primes, the training layer (3072 -> 100, batch 50),
// and db's column sum in row splits as a GPU plans it for a big batch (planColumnSumSplits), forced at ragged shapes.
const cases: [number[], number, number?][] = [
  [[2, 4, 5, 6], 3],
  [[1, 1], 1],
  [[7, 13], 5],
  [[10, 2, 3], 4],
  [[257, 7], 101],
  [[3, 31], 17],
  [[50, 3072], 100],
  [[1031, 37], 67, 16],
  [[257, 7], 101, 5],
];

test('affine forward and backward (device-resident, outputs poisoned) match the float64 reference', async ({ harness }) => {
  const out = await harness.page.evaluate(
    async ({ cases, seed }) => {
      const { lib } = window;
      const ref = lib.reference;
      const gpu = await window.gpuReady;
      const rng = ref.makeRng(seed);
      // Inputs are rounded to f32 first, so the reference sees exactly what the GPU sees.
      const tensor = (shape: number[]) => {
        const t = rng.randnTensor(shape);
        return ref.makeTensor(shape, Float32Array.from(t.data));
      };
      const rel = (got: ArrayLike<number>, want: ArrayLike<number>) => {
        let e = 0;
        let r = 0;
        for (let i = 0; i < want.length; i++) {
          r = Math.max(r, Math.abs(want[i]!));
          const d = Math.abs(got[i]! - want[i]!);
          if (!(d <= e)) e = d; // NaN (an unwritten element) propagates
        }
        return e / r;
      };
      const results = [];
      for (const [xShape, m, colsumSplits] of cases) {
        const n = xShape[0]!;
        const d = xShape.slice(1).reduce((p, q) => p * q, 1);
        const x = tensor(xShape);
        const w = tensor([d, m]);
        const b = tensor([m]);
        const dout = tensor([n, m]);
        const fwd = ref.affineForward(x, w, b);
        const bwd = ref.affineBackward(dout, fwd.cache);
        const scope = lib.createScope(gpu);
        const up = (t: { data: ArrayLike<number> }, label: string) => scope.createTensorBuffer(Float32Array.from(t.data), label);
        const nan = (count: number, label: string) => window.setup.poisoned(scope, count, label);
        const [xb, wb, bb, db_] = [up(x, 'x'), up(w, 'w'), up(b, 'b'), up(dout, 'dout')];
        const bufs = { out: nan(n * m, 'out'), dx: nan(n * d, 'dx'), dw: nan(d * m, 'dw'), db: nan(m, 'db') };
        const forward = await lib.createAffineForward(scope, { x: xb, w: wb, b: bb, out: bufs.out, n, d, m });
        // the unfused form (two matmuls and a column sum); e2e/kernels/fusion.spec.ts checks the grouped one
        const backward = await lib.createAffineBackward(scope, {
          x: xb,
          w: wb,
          dout: db_,
          dx: bufs.dx,
          dw: bufs.dw,
          db: bufs.db,
          n,
          d,
          m,
          grouped: false,
          colsumSplits,
        });
        await lib.runDispatches(gpu, [...forward, ...backward], 'affine test');
        const read = (buf: GPUBuffer, count: number) => lib.readF32(gpu, buf, count);
        results.push({
          xShape,
          m,
          colsumSplits,
          seed,
          out: rel(await read(bufs.out, n * m), fwd.out.data),
          dx: rel(await read(bufs.dx, n * d), bwd.dx.data),
          dw: rel(await read(bufs.dw, d * m), bwd.dw.data),
          db: rel(await read(bufs.db, m), bwd.db.data),
          labels: [...forward, ...backward].map((q) => q.label),
        });
        scope.destroy();
      }
      return { results, live: gpu.stats.buffersLive };
    },
    { cases, seed: testSeed(0x2545f491) },
  );
  for (const r of out.results) {
    const what = `x ${JSON.stringify(r.xShape)} m=${r.m} (seed ${r.seed}; ${r.labels.join('; ')})`;
    expect(r.out, `out ${what}`).toBeLessThan(tol);
    expect(r.dx, `dx ${what}`).toBeLessThan(tol);
    expect(r.dw, `dW ${what}`).toBeLessThan(tol);
    expect(r.db, `db ${what}`).toBeLessThan(tol);
  }
  // backward = dx (A·Bᵀ), dW (Aᵀ·B), db (column sums); each matmul may add a split-K reduce pass.
  const train = out.results.find((r) => r.m === 100)!;
  expect(train.labels.some((l) => l.includes('A·Bᵀ'))).toBe(true);
  expect(train.labels.some((l) => l.includes('Aᵀ·B'))).toBe(true);
  expect(train.labels.some((l) => l.startsWith('colsum'))).toBe(true);
  // forced row splits: the partial rows, then one pass over them
  for (const r of out.results.filter((q) => q.colsumSplits))
    expect(
      r.labels.filter((l) => l.startsWith('colsum')),
      JSON.stringify(r.xShape),
    ).toEqual([`colsum ${r.xShape[0]}x${r.m} ${r.colsumSplits} splits`, `colsum ${r.colsumSplits}x${r.m}`]);
  expect(out.live).toBe(0);
});

test('affine backward without dx (first layer) skips dx and still gives dW and db', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(7);
    const [n, d, m] = [9, 23, 6];
    const tensor = (shape: number[]) => ref.makeTensor(shape, Float32Array.from(rng.randnTensor(shape).data));
    const x = tensor([n, d]);
    const w = tensor([d, m]);
    const b = tensor([m]);
    const dout = tensor([n, m]);
    const want = ref.affineBackward(dout, ref.affineForward(x, w, b).cache);
    const scope = lib.createScope(gpu);
    const up = (t: { data: ArrayLike<number> }) => scope.createTensorBuffer(Float32Array.from(t.data), 'in');
    const dw = window.setup.poisoned(scope, d * m, 'dw');
    const db = window.setup.poisoned(scope, m, 'db');
    const list = await lib.createAffineBackward(scope, { x: up(x), w: up(w), dout: up(dout), dw, db, n, d, m });
    await lib.runDispatches(gpu, list, 'first layer');
    const gotW = await lib.readF32(gpu, dw, d * m);
    const gotB = await lib.readF32(gpu, db, m);
    scope.destroy();
    const rel = (got: ArrayLike<number>, wantD: ArrayLike<number>) => {
      let e = 0;
      let mx = 0;
      for (let i = 0; i < wantD.length; i++) {
        mx = Math.max(mx, Math.abs(wantD[i]!));
        const q = Math.abs(got[i]! - wantD[i]!);
        if (!(q <= e)) e = q;
      }
      return e / mx;
    };
    return { labels: list.map((q) => q.label), dw: rel(gotW, want.dw.data), db: rel(gotB, want.db.data) };
  });
  expect(r.labels.some((l) => l.includes('A·Bᵀ'))).toBe(false);
  expect(r.dw).toBeLessThan(tol);
  expect(r.db).toBeLessThan(tol);
});

test("affine host forms: N x d1 x ... inputs, dx in x's shape, and shape errors that name the shapes", async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(11);
    const x = rng.randnTensor([2, 4, 5, 6]);
    const w = rng.randnTensor([120, 3]);
    const b = rng.randnTensor([3]);
    const dout = rng.randnTensor([2, 3]);
    const f64 = (t: { data: ArrayLike<number>; shape: readonly number[] }) => ref.makeTensor(t.shape, Float32Array.from(t.data));
    const want = ref.affineForward(f64(x), f64(w), f64(b));
    const wantB = ref.affineBackward(f64(dout), want.cache);
    const { out } = await lib.affineForward(gpu, x, w, b);
    const g = await lib.affineBackward(gpu, dout, x, w);
    const rel = (got: ArrayLike<number>, wantD: ArrayLike<number>) => {
      let e = 0;
      let mx = 0;
      for (let i = 0; i < wantD.length; i++) {
        mx = Math.max(mx, Math.abs(wantD[i]!));
        const q = Math.abs(got[i]! - wantD[i]!);
        if (!(q <= e)) e = q;
      }
      return e / mx;
    };
    const errors: string[] = [];
    for (const f of [
      () => lib.affineForward(gpu, x, rng.randnTensor([100, 3]), b),
      () => lib.affineForward(gpu, x, w, rng.randnTensor([4])),
      () => lib.affineBackward(gpu, rng.randnTensor([3, 3]), x, w),
    ]) {
      try {
        await f();
        errors.push('no error');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return {
      outShape: out.shape,
      dxShape: g.dx.shape,
      dwShape: g.dw.shape,
      dbShape: g.db.shape,
      out: rel(out.data, want.out.data),
      dx: rel(g.dx.data, wantB.dx.data),
      dw: rel(g.dw.data, wantB.dw.data),
      db: rel(g.db.data, wantB.db.data),
      errors,
      live: gpu.stats.buffersLive,
    };
  });
  expect(r.outShape).toEqual([2, 3]);
  expect(r.dxShape).toEqual([2, 4, 5, 6]);
  expect(r.dwShape).toEqual([120, 3]);
  expect(r.dbShape).toEqual([3]);
  for (const k of ['out', 'dx', 'dw', 'db'] as const) expect(r[k], k).toBeLessThan(tol);
  expect(r.errors[0]).toContain('x has shape [2,4,5,6]');
  expect(r.errors[0]).toContain('w has shape [100,3], expected [120, M]');
  expect(r.errors[1]).toContain('b has shape [4], expected [3]');
  expect(r.errors[2]).toContain('dout must be [2,3], got [3,3]');
  expect(r.live).toBe(0);
});
