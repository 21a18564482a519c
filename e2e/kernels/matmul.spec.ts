// Matmul kernels in headless Chromium vs a float64 product computed in the page: every layout, bias, both kernels, split-K.
import { test, expect } from '../fixtures.ts';
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

test('matmul plan: CPU adapters get the 8x8 kernel, GPUs vec4 when aligned (tiled when large), and split-K where the output is small', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(() => {
    const { lib } = window;
    const gpuAdapter = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100', runtime: 'node' as const };
    const cpuAdapter = {
      vendor: 'google',
      architecture: 'swiftshader',
      device: '',
      description: 'SwiftShader Device (Subzero)',
      runtime: 'browser' as const,
    };
    const p = (a: typeof gpuAdapter | typeof cpuAdapter, m: number, n: number, k: number, transA = false, transB = false) => {
      const q = lib.planMatmul(a, { m, n, k, transA, transB });
      return `${q.variant} wg=${q.wg} splits=${q.splits} kchunk=${q.kchunk}`;
    };
    return {
      cpuAdapter: lib.isCpuAdapter(cpuAdapter),
      gpuAdapter: lib.isCpuAdapter(gpuAdapter),
      gpuForward: p(gpuAdapter, 50, 100, 3072),
      gpuBig: p(gpuAdapter, 4096, 4096, 4096),
      gpuRagged: p(gpuAdapter, 7, 13, 5),
      gpuDw: p(gpuAdapter, 3072, 100, 50, true, false),
      cpuForward: p(cpuAdapter, 50, 100, 3072),
      cpu512: p(cpuAdapter, 512, 512, 512),
      cpuRagged: p(cpuAdapter, 7, 13, 5),
      vec4Bad: (() => {
        try {
          lib.planMatmul(gpuAdapter, { m: 7, n: 13, k: 5, variant: 'vec4' });
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        }
      })(),
      v8Bad: (() => {
        try {
          lib.planMatmul(cpuAdapter, { m: 7, n: 13, k: 5, variant: 'block8vec4' });
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        }
      })(),
      // aligned operands on a CPU adapter: block8vec4, one grid over every batch's blocks (z = the splits alone)
      cpuAligned: (() => {
        const q = lib.planMatmul(cpuAdapter, { m: 50, n: 52, k: 3072, batches: 20 });
        return `${q.variant} splits=${q.splits} grid=${q.workgroups.join('x')}`;
      })(),
      gpuAligned: lib.planMatmul(gpuAdapter, { m: 50, n: 52, k: 3072, batches: 20 }).variant,
      eligible: [
        lib.block8vec4Eligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, batchA: 0, batchB: 3072 * 52 }),
        lib.block8vec4Eligible({ m: 50, n: 50, k: 3072, lda: 3072, ldb: 50 }),
        lib.block8vec4Eligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, batchB: 3072 * 52 + 2 }),
        lib.block8vec4Eligible({ m: 3072, n: 52, k: 50, transA: true, lda: 1040, ldb: 1040, batchA: 0, batchB: 52 }),
        lib.block8vec4Eligible({ m: 12, n: 12, k: 12, transA: true, transB: true, lda: 12, ldb: 12 }),
      ],
    };
  });
  expect(r.cpuAdapter).toBe(true);
  expect(r.gpuAdapter).toBe(false);
  expect(r.gpuForward).toMatch(/^vec4 wg=64 splits=(\d+)/);
  expect(Number(/splits=(\d+)/.exec(r.gpuForward)![1])).toBeGreaterThan(1);
  // large products on GPUs take the workgroup-memory tiled kernel (e2e/kernels/matmul-tiled.spec.ts checks it)
  expect(r.gpuBig).toBe('tile128 wg=256 splits=1 kchunk=4096');
  expect(r.gpuRagged).toMatch(/^block8 wg=64 splits=1/);
  expect(r.gpuDw).toMatch(/^vec4 wg=64/);
  expect(r.cpuForward).toMatch(/^block8vec4 wg=16 splits=3 kchunk=1024/);
  expect(r.cpu512).toBe('block8vec4 wg=16 splits=1 kchunk=512');
  expect(r.cpuRagged).toMatch(/^block8 wg=16 splits=1/);
  expect(r.vec4Bad).toContain('vec4 kernel needs');
  expect(r.v8Bad).toContain('block8vec4 kernel needs');
  // 20 x 7 x 7 blocks of 8 = 980 in 62 workgroups of 16, K whole (enough workgroups already)
  expect(r.cpuAligned).toBe('block8vec4 splits=1 grid=62x1x1');
  // GPUs too: the batched product packs its blocks over the batches (e2e/kernels/matmul-batched.spec.ts)
  expect(r.gpuAligned).toBe('block8vec4');
  expect(r.eligible).toEqual([true, false, false, true, false]);
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

test("batched products (a population's model axis): column blocks of wider matrices, a shared A, bias per batch, split-K", async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(17);
    const out: { what: string; err: number; untouched: boolean }[] = [];
    // (batches, m, n, k, layout, shared A, splits): the affine forward, dx and dW layouts of src/ops/batched-affine.ts
    // the last ones aligned (a population's widths rounded up to multiples of 4): block8vec4, forced, so a GPU runs it too
    const list: [number, number, number, number, boolean, boolean, boolean, number, 'block8vec4'?][] = [
      [3, 7, 5, 13, false, false, true, 1],
      [3, 7, 5, 13, false, false, false, 1],
      [4, 9, 6, 11, false, true, false, 1],
      [5, 13, 7, 6, true, false, false, 1],
      [5, 13, 7, 6, true, false, true, 1],
      [2, 10, 12, 70, false, false, true, 3],
      [7, 6, 10, 130, true, false, false, 2],
      [7, 10, 12, 24, false, false, true, 1, 'block8vec4'],
      [3, 10, 12, 16, false, false, false, 1, 'block8vec4'],
      [5, 9, 8, 12, false, true, false, 1, 'block8vec4'],
      [7, 12, 8, 10, true, false, true, 1, 'block8vec4'],
      [3, 20, 12, 9, true, false, false, 1, 'block8vec4'],
      [5, 10, 12, 72, false, false, true, 3, 'block8vec4'],
      [3, 12, 8, 40, true, false, false, 2, 'block8vec4'],
    ];
    for (const [B, m, n, k, transA, transB, sharedA, splits, variant] of list) {
      await lib.withScope(gpu, async (scope) => {
        // A: B column blocks of a [rows, B·cols] matrix (or one shared [rows, cols]); B: B dense [rows, cols] blocks; C: blocks of [m, B·n]
        const [ar, ac] = transA ? [k, m] : [m, k];
        const [br, bc] = transB ? [n, k] : [k, n];
        const lda = sharedA ? ac : B * ac;
        const a = Float32Array.from({ length: ar * lda }, () => rng.randn());
        const b = Float32Array.from({ length: B * br * bc }, () => rng.randn());
        const bias = Float32Array.from({ length: B * n }, () => rng.randn());
        const poison = 12345;
        const c = new Float32Array(m * B * n + 5).fill(poison);
        const bufs = {
          a: scope.createTensorBuffer(a, 'a'),
          b: scope.createTensorBuffer(b, 'b'),
          c: scope.createTensorBuffer(c, 'c'),
          bias: scope.createTensorBuffer(bias, 'bias'),
        };
        const ds = await lib.createMatmul(scope, {
          ...bufs,
          m,
          n,
          k,
          transA,
          transB,
          splits,
          lda,
          ldc: B * n,
          variant,
          batch: { count: B, a: sharedA ? 0 : ac, b: br * bc, c: n, bias: n },
        });
        if (variant && !ds[0]!.label.includes(variant)) throw new Error(`${ds[0]!.label}: not ${variant}`);
        await lib.runDispatches(gpu, ds);
        const got = new Float32Array(await lib.readBuffer(gpu, bufs.c));
        const want = new Float64Array(m * B * n);
        for (let t = 0; t < B; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = bias[t * n + j]!;
              for (let q = 0; q < k; q++) {
                const av = transA ? a[q * lda + (sharedA ? 0 : t * ac) + i]! : a[i * lda + (sharedA ? 0 : t * ac) + q]!;
                const bv = transB ? b[t * br * bc + j * bc + q]! : b[t * br * bc + q * bc + j]!;
                s += av * bv;
              }
              want[i * B * n + t * n + j] = s;
            }
        out.push({
          what: `${B}x ${m}x${n}x${k} transA=${transA} transB=${transB} sharedA=${sharedA} splits=${splits}`,
          err: window.check.scaled(got.subarray(0, m * B * n), want),
          untouched: got.subarray(m * B * n).every((v) => v === poison),
        });
      });
    }
    return out;
  });
  expect(rows).toHaveLength(14);
  for (const r of rows) {
    expect(r.err, r.what).toBeLessThan(tol);
    expect(r.untouched, `${r.what}: nothing written past C`).toBe(true);
  }
});

test("block8sg (A shared through 4-lane subgroups, blocks over every batch's columns): a population's first-layer forward and dW layouts and plain products, ragged sizes, bias, split-K", async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(29);
    const quads = await lib.subgroupQuads(gpu);
    const out: { what: string; err: number; untouched: boolean; label: string }[] = [];
    const refusals: string[] = [];
    // (batches, m, n, k, transA, bias, splits): forward = X [m,k] · W_t [k,n] into the column blocks of C [m, B·n];
    // dW (transA) = X stored [k,m] times the column blocks of dY [k, B·n] into C_t [m,n]. n = 12 and 4 put blocks of 8
    // across two batches; B·n/4 odd leaves a last half block; m not a multiple of 8; k % 4 != 0 for the dW tail.
    const list: [number, number, number, number, boolean, boolean, number][] = [
      [5, 13, 12, 24, false, true, 1],
      [5, 13, 12, 24, false, false, 1],
      [3, 8, 4, 40, false, true, 1],
      [20, 50, 52, 64, false, true, 1],
      [7, 9, 12, 32, false, true, 3],
      [1, 17, 36, 20, false, true, 1],
      [1, 8, 8, 4, false, false, 1],
      [5, 12, 12, 10, true, false, 1],
      [5, 20, 12, 9, true, true, 1],
      [3, 16, 4, 13, true, false, 1],
      [20, 48, 52, 50, true, false, 1],
      [7, 12, 8, 30, true, false, 2],
      [1, 44, 20, 7, true, false, 1],
      [1, 4, 4, 1, true, true, 1],
    ];
    for (const [B, m, n, k, transA, withBias, splits] of list) {
      await lib.withScope(gpu, async (scope) => {
        const a = Float32Array.from({ length: m * k }, () => rng.randn());
        const b = Float32Array.from({ length: B * k * n }, () => rng.randn());
        const bias = Float32Array.from({ length: B * n }, () => rng.randn());
        const poison = 12345;
        const c = new Float32Array(B * m * n + 8).fill(poison);
        const bufs = {
          a: scope.createTensorBuffer(a, 'a'),
          b: scope.createTensorBuffer(b, 'b'),
          c: scope.createTensorBuffer(c, 'c'),
          bias: withBias ? scope.createTensorBuffer(bias, 'bias') : undefined,
        };
        const layout = transA
          ? { lda: m, ldb: B * n, ldc: n, batch: { count: B, a: 0, b: n, c: m * n, bias: n } }
          : { lda: k, ldb: n, ldc: B * n, batch: { count: B, a: 0, b: k * n, c: n, bias: n } };
        const forced = lib.createMatmul(scope, { ...bufs, m, n, k, transA, splits, variant: 'block8sg', ...layout });
        // a device without 4-lane subgroup quads refuses the forced kernel, naming why
        if (!quads)
          return refusals.push(
            await forced.then(
              () => 'no error',
              (e: Error) => e.message,
            ),
          );
        const ds = await forced;
        await lib.runDispatches(gpu, ds);
        const got = new Float32Array(await lib.readBuffer(gpu, bufs.c));
        const want = new Float64Array(B * m * n);
        for (let t = 0; t < B; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = withBias ? bias[t * n + j]! : 0;
              for (let q = 0; q < k; q++)
                s += (transA ? a[q * m + i]! : a[i * k + q]!) * (transA ? b[q * B * n + t * n + j]! : b[t * k * n + q * n + j]!);
              want[transA ? t * m * n + i * n + j : i * B * n + t * n + j] = s;
            }
        out.push({
          what: `${B}x ${m}x${n}x${k} transA=${transA} bias=${withBias} splits=${splits}`,
          label: ds.map((d) => d.label).join(' + '),
          err: window.check.scaled(got.subarray(0, B * m * n), want),
          untouched: got.subarray(B * m * n).every((v) => v === poison),
        });
      });
    }
    // the auto plan on this adapter: block8sg for a population's first layer (forward and dW), block8vec4 where A is per model
    const auto = await lib.withScope(gpu, async (scope) => {
      const t = (len: number) => scope.createTensorBuffer(len * 4, 't');
      const fwd = await lib.createMatmul(scope, {
        a: t(50 * 3072),
        b: t(20 * 3072 * 52),
        c: t(50 * 1040),
        m: 50,
        n: 52,
        k: 3072,
        lda: 3072,
        ldb: 52,
        ldc: 1040,
        batch: { count: 20, a: 0, b: 3072 * 52, c: 52 },
      });
      const dw = await lib.createMatmul(scope, {
        a: t(50 * 3072),
        b: t(50 * 1040),
        c: t(20 * 3072 * 52),
        m: 3072,
        n: 52,
        k: 50,
        transA: true,
        lda: 3072,
        ldb: 1040,
        ldc: 52,
        batch: { count: 20, a: 0, b: 52, c: 3072 * 52 },
      });
      const deep = await lib.createMatmul(scope, {
        a: t(50 * 1040),
        b: t(20 * 52 * 52),
        c: t(50 * 1040),
        m: 50,
        n: 52,
        k: 52,
        lda: 1040,
        ldb: 52,
        ldc: 1040,
        batch: { count: 20, a: 52, b: 52 * 52, c: 52 },
      });
      return [fwd, dw, deep].map((d) => d[0]!.label);
    });
    const cpuAdapter = {
      vendor: 'google',
      architecture: 'swiftshader',
      device: '',
      description: 'SwiftShader Device (Subzero)',
      runtime: 'browser' as const,
    };
    const plan = (n: number, batches: number) => lib.planMatmul(cpuAdapter, { m: 50, n, k: 3072, batches, subgroupQuads: true });
    const refused = (() => {
      try {
        lib.planMatmul(cpuAdapter, { m: 50, n: 52, k: 3072, batches: 20, variant: 'block8sg' });
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    return {
      quads,
      refusals,
      cpu: lib.isCpuAdapter(gpu.adapter),
      hasSubgroups: gpu.hasSubgroups,
      subgroupMinSize: gpu.subgroupMinSize,
      out,
      auto,
      // 20 x 52 columns = 130 blocks of 8 = 33 quads (2 lanes idle) per row block, 7 row blocks: 231 quads, 924 invocations
      population: (({ variant, nb, blocks, workgroups }) => ({ variant, nb, blocks, workgroups }))(plan(52, 20)),
      // one 100-wide product: 13 blocks in 4 quads would idle 3 lanes of 16: block8vec4 instead
      narrow: plan(100, 1).variant,
      refused,
      eligible: [
        lib.block8sgEligible({
          m: 50,
          n: 52,
          k: 3072,
          lda: 3072,
          ldb: 52,
          ldc: 1040,
          batches: 20,
          batchA: 0,
          batchB: 3072 * 52,
          batchC: 52,
        }),
        lib.block8sgEligible({ m: 50, n: 52, k: 52, lda: 1040, ldb: 52, ldc: 1040, batches: 20, batchA: 52, batchB: 52 * 52, batchC: 52 }),
        lib.block8sgEligible({ m: 50, n: 52, k: 52, transB: true, lda: 52, ldb: 52, ldc: 52 }),
        lib.block8sgEligible({ m: 50, n: 50, k: 3072, lda: 3072, ldb: 52, ldc: 52 }),
      ],
      live: gpu.stats.buffersLive,
    };
  });
  // Adapter-dependent: SwiftShader has 4-lane subgroups of consecutive invocations (quads), so every case runs block8sg
  // against float64; a device without them (the GPUs') refuses every forced case with the row's reason.
  if (!(r.hasSubgroups && r.subgroupMinSize === 4)) expect(r.quads).toBe(false);
  expect(r.out.length + r.refusals.length).toBe(14);
  expect(r.out).toHaveLength(r.quads ? 14 : 0);
  for (const m of r.refusals) expect(m).toContain('block8sg kernel needs');
  for (const x of r.out) {
    expect(x.label, x.what).toContain('block8sg');
    expect(x.err, `${x.what} (${x.label})`).toBeLessThan(tol);
    expect(x.untouched, `${x.what}: nothing written past C`).toBe(true);
  }
  expect(r.out.filter((x) => x.what.includes('splits=1')).every((x) => !x.label.includes('reduce'))).toBe(true);
  expect(r.out.filter((x) => !x.what.includes('splits=1')).every((x) => x.label.includes('reduce'))).toBe(true);
  // the auto plan per adapter class: CPU adapters block8sg where A is shared (with quads; else block8vec4), block8vec4
  // where A is per model; GPUs block8 (vec4 reads unbatched operands only)
  const shared = r.cpu ? (r.quads ? 'block8sg' : 'block8vec4') : 'block8';
  expect(r.auto.map((label) => / (block8sg|block8vec4|block8|vec4) /.exec(label)?.[1])).toEqual([
    shared,
    shared,
    r.cpu ? 'block8vec4' : 'block8',
  ]);
  expect(r.population).toEqual({ variant: 'block8sg', nb: 130, blocks: 231, workgroups: [58, 1, 1] });
  expect(r.narrow).toBe('block8vec4');
  expect(r.refused).toContain('block8sg kernel needs');
  expect(r.eligible).toEqual([true, false, false, false]);
  expect(r.live).toBe(0);
});
