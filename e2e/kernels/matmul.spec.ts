// One matmul product at a time in headless Chromium vs a float64 product computed in the page: the register kernels (block8,
// vec4, block8vec4) forced by name and the auto plan, every layout, bias, split-K, a GPU's workgroup size, the host form.
// Batched products: matmul-population.spec.ts; the tiled kernels: matmul-tiled.spec.ts; the plans: test/ops/matmul-plan-picks.test.ts.
import { testOnOnePage as test, expect } from '../fixtures.ts';
import { testSeed } from '../seed.ts';

// Threshold: max|gpu - ref| / max|ref| < 1e-4 over the whole output (ref in float64 from the same
// float32 inputs). An f32 dot product of length k has error ~ sqrt(k)·2^-24 relative to the sum of
// |terms|; with inputs in [-1, 1) that is far under 1e-4 up to k = 3072.
const tol = 1e-4;

type Case = {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  bias: boolean;
  variant?: 'block8' | 'vec4' | 'block8vec4';
  splits?: number;
  workgroupSize?: number;
};

// Sizes with 1, primes and sizes that are not multiples of any block (8x8, 4x4) or of 4.
const oddShapes: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [31, 17, 29],
  [101, 3, 64],
  [257, 7, 101],
  [1, 9, 2],
  [13, 1, 17],
];
// Multiples of 4, so the vec4 kernel can run (on CPU adapters the auto plan never picks it).
const alignedShapes: [number, number, number][] = [
  [4, 4, 4],
  [12, 20, 8],
  [36, 8, 44],
  [100, 52, 24],
];
// Aᵀ·B runs vec4 for any k (a scalar-k tail); m and n multiples of 4.
const tnShapes: [number, number, number][] = [
  [4, 4, 1],
  [12, 8, 7],
  [20, 16, 50],
];
const layouts: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [m, n, k] of oddShapes)
    for (const [transA, transB] of layouts) for (const bias of [false, true]) out.push({ m, n, k, transA, transB, bias });
  for (const [m, n, k] of alignedShapes) {
    for (const [transA, transB] of layouts) {
      for (const bias of [false, true]) {
        out.push({ m, n, k, transA, transB, bias, variant: 'vec4' });
        out.push({ m, n, k, transA, transB, bias, variant: 'block8' });
        if (!(transA && transB)) out.push({ m, n, k, transA, transB, bias, variant: 'block8vec4' });
      }
    }
  }
  for (const [m, n, k] of tnShapes) {
    for (const bias of [false, true])
      for (const variant of ['vec4', 'block8vec4'] as const) out.push({ m, n, k, transA: true, transB: false, bias, variant });
  }
  // block8vec4 where C's rows are not whole vec4s (A·Bᵀ: any n; scalar stores) and where they are (vec4 stores)
  for (const [m, n] of [
    [9, 13],
    [17, 6],
    [8, 12],
    [20, 44],
  ] as [number, number][])
    out.push({ m, n, k: 28, transA: false, transB: true, bias: true, variant: 'block8vec4' });
  // Split-K (partial products + the reduce pass, bias added there) with ragged last splits.
  for (const [m, n, k] of [
    [7, 13, 37],
    [31, 17, 129],
    [12, 20, 40],
  ] as [number, number, number][]) {
    for (const [transA, transB] of layouts) {
      out.push({ m, n, k, transA, transB, bias: true, splits: 3 });
      out.push({ m, n, k, transA, transB, bias: false, splits: 5 });
    }
  }
  out.push({ m: 12, n: 20, k: 40, transA: false, transB: false, bias: true, variant: 'vec4', splits: 3 });
  out.push({ m: 12, n: 20, k: 40, transA: true, transB: true, bias: false, variant: 'vec4', splits: 2 });
  out.push({ m: 20, n: 16, k: 50, transA: true, transB: false, bias: true, variant: 'vec4', splits: 3 });
  for (const [transA, transB] of layouts.slice(0, 3))
    out.push({ m: 12, n: 20, k: 40, transA, transB, bias: true, variant: 'block8vec4', splits: 3 });
  out.push({ m: 20, n: 16, k: 50, transA: true, transB: false, bias: false, variant: 'block8vec4', splits: 4 });
  // The GPU plan's workgroup size (64) on both kernels, over several workgroups.
  for (const [transA, transB] of layouts) {
    out.push({ m: 100, n: 52, k: 24, transA, transB, bias: true, variant: 'vec4', workgroupSize: 64 });
    out.push({ m: 101, n: 67, k: 13, transA, transB, bias: true, variant: 'block8', workgroupSize: 64, splits: 2 });
    if (!(transA && transB)) out.push({ m: 100, n: 52, k: 24, transA, transB, bias: true, variant: 'block8vec4', workgroupSize: 64 });
  }
  return out;
}

/** Runs every case in the page: fresh random inputs, C poisoned with NaN, f64 reference, relative error. */
async function runCases(page: import('@playwright/test').Page, list: Case[]) {
  return page.evaluate(
    async ({ list, seed0 }) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      let seed = seed0 >>> 0;
      // Uniform in [-1, 1), never all zeros; a fresh seed per run (reported on failure).
      const random = (len: number) =>
        Float32Array.from({ length: len }, () => {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          return seed / 2 ** 31 - 1;
        });
      const results = [];
      for (const c of list) {
        const { m, n, k, transA, transB } = c;
        const a = random(m * k);
        const b = random(k * n);
        const bias = c.bias ? random(n) : null;
        const scope = lib.createScope(gpu);
        const cBuf = window.setup.poisoned(scope, m * n, 'c');
        let got: Float32Array;
        let labels: string[] = [];
        try {
          const list2 = await lib.createMatmul(scope, {
            a: scope.createTensorBuffer(a, 'a'),
            b: scope.createTensorBuffer(b, 'b'),
            c: cBuf,
            bias: bias ? scope.createTensorBuffer(bias, 'bias') : undefined,
            m,
            n,
            k,
            transA,
            transB,
            variant: c.variant,
            splits: c.splits,
            workgroupSize: c.workgroupSize,
          });
          labels = list2.map((d) => d.label);
          await lib.runDispatches(gpu, list2, 'matmul test');
          got = await lib.readF32(gpu, cBuf, m * n);
        } finally {
          scope.destroy();
        }
        let maxErr = 0;
        let maxRef = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = bias ? bias[j]! : 0;
            for (let p = 0; p < k; p++) s += (transA ? a[p * m + i]! : a[i * k + p]!) * (transB ? b[j * k + p]! : b[p * n + j]!);
            maxRef = Math.max(maxRef, Math.abs(s));
            const e = Math.abs(got[i * n + j]! - s);
            if (!(e <= maxErr)) maxErr = e; // NaN (an unwritten element) makes it NaN
          }
        }
        results.push({ ...c, rel: maxErr / maxRef, labels });
      }
      return { results, seed0, live: gpu.stats.buffersLive };
    },
    { list, seed0: testSeed(0x5bd1e995) },
  );
}

function expectAllClose(out: Awaited<ReturnType<typeof runCases>>) {
  const bad = out.results.filter((r) => !(r.rel < tol));
  expect(
    bad.map(
      (r) =>
        `${r.m}x${r.n}x${r.k} transA=${r.transA} transB=${r.transB} bias=${r.bias} ${r.labels.join(' + ')}: rel ${r.rel} (seed ${out.seed0})`,
    ),
  ).toEqual([]);
  expect(out.live, 'buffers left alive').toBe(0);
}

test('matmul: primes, 1 and ragged sizes in all four layouts, with and without bias, both kernels and split-K', async ({ harness }) => {
  const list = cases();
  const out = await runCases(harness.page, list);
  expect(out.results).toHaveLength(list.length);
  // The forced variants and splits really ran (labels name the kernel and the reduce pass).
  expect(out.results.filter((r) => r.variant).every((r) => r.labels[0]!.includes(` ${r.variant} `))).toBe(true);
  // both store forms of block8vec4 ran
  expect(out.results.some((r) => r.labels[0]!.includes('block8vec4 (vec4 stores)'))).toBe(true);
  expect(out.results.some((r) => r.labels[0]!.includes('block8vec4 wg='))).toBe(true);
  expect(out.results.filter((r) => r.splits).every((r) => r.labels.length === 2 && r.labels[1]!.includes('reduce'))).toBe(true);
  expectAllClose(out);
});

test('matmul: the training shapes 50x3072·3072x100 and its backward products, auto plan and vec4', async ({ harness }) => {
  const list: Case[] = [
    { m: 50, n: 100, k: 3072, transA: false, transB: false, bias: true },
    { m: 50, n: 3072, k: 100, transA: false, transB: true, bias: false },
    { m: 3072, n: 100, k: 50, transA: true, transB: false, bias: false },
    { m: 50, n: 100, k: 3072, transA: false, transB: false, bias: false, variant: 'vec4' },
    { m: 50, n: 3072, k: 100, transA: false, transB: true, bias: false, variant: 'vec4' },
    { m: 3072, n: 100, k: 50, transA: true, transB: false, bias: false, variant: 'vec4' },
  ];
  const out = await runCases(harness.page, list);
  console.log(out.results.map((r) => `${r.m}x${r.n}x${r.k}: rel ${r.rel.toExponential(2)} (${r.labels.join(' + ')})`).join('\n'));
  expectAllClose(out);
});

test('matmul host form: shapes, transposes, and errors that name the shapes', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const a = { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] }; // [[1,2,3],[4,5,6]]
    const b = { data: [7, 8, 9, 10, 11, 12], shape: [3, 2] }; // [[7,8],[9,10],[11,12]]
    const ab = await lib.matmul(gpu, a, b);
    const atbT = await lib.matmul(gpu, a, { data: [1, 0, 0, 1, 1, 1], shape: [3, 2] }, { transA: true, transB: true }); // aᵀ (3x2) · b2ᵀ (2x3)
    const withBias = await lib.matmul(gpu, a, b, { bias: { data: [100, 200], shape: [2] } });
    const errors: string[] = [];
    for (const f of [
      () => lib.matmul(gpu, a, a),
      () => lib.matmul(gpu, { data: [1, 2, 3], shape: [3] }, b),
      () => lib.matmul(gpu, a, b, { bias: { data: [1, 2, 3], shape: [3] } }),
    ]) {
      try {
        await f();
        errors.push('no error');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return {
      ab: { data: [...ab.data], shape: ab.shape },
      atbT: { data: [...atbT.data], shape: atbT.shape },
      bias: [...withBias.data],
      errors,
      live: gpu.stats.buffersLive,
    };
  });
  expect(r.ab).toEqual({ data: [58, 64, 139, 154], shape: [2, 2] });
  // aᵀ = [[1,4],[2,5],[3,6]]; b2 = [[1,0],[0,1],[1,1]] so b2ᵀ = [[1,0,1],[0,1,1]]: aᵀ·b2ᵀ is 3x3.
  expect(r.atbT.shape).toEqual([3, 3]);
  expect(r.atbT.data).toEqual([1, 4, 5, 2, 5, 7, 3, 6, 9]);
  expect(r.bias).toEqual([158, 264, 239, 354]);
  expect(r.errors[0]).toContain('a has shape [2,3]');
  expect(r.errors[0]).toContain('inner sizes differ');
  expect(r.errors[1]).toContain('shape [3]');
  expect(r.errors[2]).toContain('bias has shape [3], expected [2]');
  expect(r.live).toBe(0);
});
