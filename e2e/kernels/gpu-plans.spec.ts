// The matmul plans a real GPU would pick (NVIDIA, AMD, Intel, Apple adapter summaries) at the seed's training shapes, and a
// grid with y > 1, forced on whatever adapter runs the tests and checked against a float64 product computed in the page.
import { test, expect } from '../fixtures.ts';
import { testSeed } from '../seed.ts';
import type { MatmulBatch, MatmulShape, MatmulVariant } from '../../src/engine.ts';

// The matmul spec's threshold: max|gpu - ref| / max|ref| < 1e-4 (inputs in [-1, 1), k up to 3072).
const tol = 1e-4;

/** A product as batched-affine.ts and affine.ts launch it: sizes, layout, strides, batches. */
type Product = MatmulShape & {
  what: string;
  bias?: boolean;
  batch?: MatmulBatch;
  workgroupSize?: number;
};

const M = 20; // the weight-scale population: 20 nets of 7 hidden layers of 50, stored 52 wide
const products: Product[] = [
  // the FC net (hidden 100, batch 50, 3072 inputs, 10 classes)
  { what: 'first layer forward X·W + b', m: 50, n: 100, k: 3072, bias: true },
  { what: 'first layer dW = Xᵀ·dY', m: 3072, n: 100, k: 50, transA: true },
  { what: 'hidden forward', m: 50, n: 100, k: 100, bias: true },
  { what: 'hidden dW', m: 100, n: 100, k: 50, transA: true },
  { what: 'hidden dX = dY·Wᵀ', m: 50, n: 100, k: 100, transB: true },
  { what: 'scores forward', m: 50, n: 10, k: 100, bias: true },
  // the population (src/ops/batched-affine.ts): A shared at the first layer, column blocks of [50, 20·52] after it
  {
    what: 'population first layer forward',
    m: 50,
    n: 52,
    k: 3072,
    bias: true,
    lda: 3072,
    ldc: M * 52,
    batch: { count: M, a: 0, b: 3072 * 52, c: 52, bias: 52 },
  },
  {
    what: 'population first layer dW',
    m: 3072,
    n: 52,
    k: 50,
    transA: true,
    lda: 3072,
    ldb: M * 52,
    batch: { count: M, a: 0, b: 52, c: 3072 * 52 },
  },
  {
    what: 'population hidden forward',
    m: 50,
    n: 52,
    k: 52,
    bias: true,
    lda: M * 52,
    ldc: M * 52,
    batch: { count: M, a: 52, b: 52 * 52, c: 52, bias: 52 },
  },
  {
    what: 'population hidden dX',
    m: 50,
    n: 52,
    k: 52,
    transB: true,
    lda: M * 52,
    ldc: M * 52,
    batch: { count: M, a: 52, b: 52 * 52, c: 52 },
  },
  {
    what: 'population hidden dW',
    m: 52,
    n: 52,
    k: 50,
    transA: true,
    lda: M * 52,
    ldb: M * 52,
    batch: { count: M, a: 52, b: 52, c: 52 * 52 },
  },
  {
    what: 'population scores forward',
    m: 50,
    n: 10,
    k: 52,
    bias: true,
    lda: M * 52,
    ldc: M * 10,
    batch: { count: M, a: 52, b: 52 * 10, c: 10, bias: 10 },
  },
  // more than 65535 workgroups in x at 1 invocation each: 4x4 blocks of a 4 x (4·65537) output, so the grid is 65535 x 2
  { what: 'a grid with y > 1', m: 4, n: 4 * 65537, k: 4, workgroupSize: 1 },
];

test('the matmul plans a GPU adapter picks at the training shapes, and a y > 1 grid, forced here against float64', async ({ harness }) => {
  test.setTimeout(300_000);
  const r = await harness.page.evaluate(
    async ({ products, seed0 }) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      const gpus = {
        nvidia: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100', runtime: 'node' as const },
        amd: { vendor: 'amd', architecture: 'rdna-3', device: '', description: 'AMD Radeon RX 7900 XTX', runtime: 'browser' as const },
        intel: {
          vendor: 'intel',
          architecture: 'xe-lpg',
          device: '',
          description: 'Intel(R) Arc(TM) Graphics',
          runtime: 'browser' as const,
        },
        apple: { vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M2', runtime: 'browser' as const },
      };
      let seed = seed0 >>> 0;
      const random = (len: number) =>
        Float32Array.from({ length: len }, () => {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          return seed / 2 ** 31 - 1;
        });
      const rows = [];
      for (const p of products) {
        const { m, n, k, transA = false, transB = false } = p;
        const batch = p.batch ?? { count: 1, a: 0, b: 0, c: 0, bias: 0 };
        const [ar, ac] = transA ? [k, m] : [m, k];
        const [br, bc] = transB ? [n, k] : [k, n];
        const [lda, ldb, ldc] = [p.lda ?? ac, p.ldb ?? bc, p.ldc ?? n];
        const extent = (step: number, rows: number, ld: number, cols: number) => (batch.count - 1) * step + (rows - 1) * ld + cols;
        const layout = { m, n, k, transA, transB, lda, ldb, ldc, batches: batch.count, batchA: batch.a, batchB: batch.b, batchC: batch.c };
        // the plan of each GPU adapter class (no such adapter needed: the summary is enough); the distinct ones run
        const plans = new Map<string, { variant: MatmulVariant; wg: number; splits: number; workgroups: number[]; vendors: string[] }>();
        for (const [vendor, adapter] of Object.entries(gpus)) {
          const q = lib.planMatmul(adapter, { ...layout, workgroupSize: p.workgroupSize });
          const key = `${q.variant} wg=${q.wg} splits=${q.splits}`;
          const seen = plans.get(key) ?? { variant: q.variant, wg: q.wg, splits: q.splits, workgroups: q.workgroups, vendors: [] };
          seen.vendors.push(vendor);
          plans.set(key, seen);
        }
        const a = random(extent(batch.a, ar, lda, ac));
        const b = random(extent(batch.b, br, ldb, bc));
        const bias = p.bias ? random(extent(batch.bias ?? 0, 1, 0, n)) : undefined;
        // float64 reference over the elements C's layout owns
        const owned: number[] = [];
        const want: number[] = [];
        for (let t = 0; t < batch.count; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = bias ? bias[t * (batch.bias ?? 0) + j]! : 0;
              const oa = t * batch.a;
              const ob = t * batch.b;
              for (let q = 0; q < k; q++)
                s += (transA ? a[oa + q * lda + i]! : a[oa + i * lda + q]!) * (transB ? b[ob + j * ldb + q]! : b[ob + q * ldb + j]!);
              owned.push(t * batch.c + i * ldc + j);
              want.push(s);
            }
        for (const [key, plan] of plans) {
          const got = await lib.withScope(gpu, async (scope) => {
            const c = window.setup.poisoned(scope, extent(batch.c, m, ldc, n), 'c');
            const ds = await lib.createMatmul(scope, {
              a: scope.createTensorBuffer(a, 'a'),
              b: scope.createTensorBuffer(b, 'b'),
              c,
              bias: bias ? scope.createTensorBuffer(bias, 'bias') : undefined,
              m,
              n,
              k,
              transA,
              transB,
              lda,
              ldb,
              ldc,
              batch,
              variant: plan.variant,
              workgroupSize: plan.wg,
              splits: plan.splits,
            });
            await lib.runDispatches(gpu, ds);
            const out = await lib.readF32(gpu, c, extent(batch.c, m, ldc, n));
            return { values: owned.map((i) => out[i]!), labels: ds.map((d) => d.label), grid: ds[0]!.workgroups };
          });
          rows.push({
            what: `${p.what} ${batch.count > 1 ? `${batch.count}x ` : ''}${m}x${n}x${k}: ${key} (${plan.vendors.join(', ')})`,
            key,
            vendors: plan.vendors,
            planned: plan.workgroups,
            grid: [...got.grid],
            labels: got.labels,
            err: window.check.scaled(got.values, want),
          });
        }
      }
      return { rows, seed0, live: gpu.stats.buffersLive };
    },
    { products, seed0: testSeed(0x2545f491) },
  );
  console.log(r.rows.map((x) => `${x.what}: grid ${x.planned.join('x')}, rel ${x.err.toExponential(2)}`).join('\n'));
  for (const x of r.rows) {
    expect(x.err, `${x.what} (seed ${r.seed0})`).toBeLessThan(tol);
    // the forced plan ran as planned: kernel, workgroup size, splits (a reduce pass behind them) and grid
    const [variant, wg, splits] = x.key.split(' ');
    expect(x.labels[0], x.what).toContain(` ${variant} `);
    expect(x.labels[0], x.what).toContain(` ${wg}`);
    expect(x.labels.length, x.what).toBe(splits === 'splits=1' ? 1 : 2);
    expect(x.grid, x.what).toEqual(x.planned);
  }
  // Every product got a plan from every GPU adapter class (today they share one: none is a CPU adapter).
  const byProduct = (what: string) => r.rows.filter((x) => x.what.startsWith(what));
  for (const p of products)
    expect(
      byProduct(p.what)
        .flatMap((x) => x.vendors)
        .sort(),
      p.what,
    ).toEqual(['amd', 'apple', 'intel', 'nvidia']);
  // The GPU plans the issue names, computed by hand (512 target workgroups, 2048 batched, K chunks of at least 128):
  // 13 x 25 blocks of 4 = 325 blocks in 6 workgroups of 64, so min(3072 / 128, ceil(512 / 6)) = 24 splits
  expect(byProduct('first layer forward').map((x) => `${x.key} ${x.planned.join('x')}`)).toEqual(['vec4 wg=64 splits=24 6x1x24']);
  // 7 x 7 blocks of 8 per model packed over 20 models (block8vec4): 980 blocks in 16 workgroups of 64, so
  // min(24, ceil(2048 / 16)) = 24 splits (a batched product aims at 2048 workgroups, gpuBatchedTargetGroups)
  expect(byProduct('population first layer forward').map((x) => `${x.key} ${x.planned.join('x')}`)).toEqual([
    'block8vec4 wg=64 splits=24 16x1x24',
  ]);
  // 65537 blocks of 4x4 at 1 invocation a workgroup: 65535 in x, 2 in y
  expect(byProduct('a grid with y > 1').map((x) => `${x.key} ${x.planned.join('x')}`)).toEqual(['vec4 wg=1 splits=1 65535x2x1']);
  expect(r.live, 'buffers left alive').toBe(0);
});
