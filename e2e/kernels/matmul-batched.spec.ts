// A population's batched products as a GPU adapter plans them at 20, 100, 400 and 1000 models (block8vec4 packed over the
// models, K split towards 2048 workgroups), forced here on a few models at ragged sizes and checked against float64.
import { test, expect } from '../fixtures.ts';
import { testSeed } from '../seed.ts';
import type { MatmulBatch, MatmulShape } from '../../src/engine.ts';

// The matmul spec's threshold: max|gpu - ref| / max|ref| < 1e-4 (inputs in [-1, 1), k up to 3072).
const tol = 1e-4;

/** A population product (src/ops/batched-affine.ts) for M models of width h (stored), input width k0. */
type Product = MatmulShape & { what: string; bias?: boolean; batch: MatmulBatch };
const layer = (M: number, h: number, k0: number): Record<string, Product> => ({
  // the first layer: every model reads the same input rows (A shared), its own W and its column block of the output
  forward: {
    what: 'first layer forward',
    m: 50,
    n: h,
    k: k0,
    bias: true,
    lda: k0,
    ldc: M * h,
    batch: { count: M, a: 0, b: k0 * h, c: h, bias: h },
  },
  firstDw: { what: 'first layer dW', m: k0, n: h, k: 50, transA: true, lda: k0, ldb: M * h, batch: { count: M, a: 0, b: h, c: k0 * h } },
  hidden: {
    what: 'hidden forward',
    m: 50,
    n: h,
    k: h,
    bias: true,
    lda: M * h,
    ldc: M * h,
    batch: { count: M, a: h, b: h * h, c: h, bias: h },
  },
  dx: { what: 'hidden dX', m: 50, n: h, k: h, transB: true, lda: M * h, ldc: M * h, batch: { count: M, a: h, b: h * h, c: h } },
  dw: { what: 'hidden dW', m: h, n: h, k: 50, transA: true, lda: M * h, ldb: M * h, batch: { count: M, a: h, b: h, c: h * h } },
});

/** Each case: the product planned at `planM` models (the plan an H200 gets there), run at `runM` with that plan forced. */
const cases: { planM: number; runM: number; name: string; h: number; k0: number }[] = [
  // the first layer's splits at each population size: 24 (kchunk 128) at 20 and 100, 7 (440, a K tail of 432) at 400,
  // 3 (1024) at 1000; 7 models are 343 blocks of 8x8, so workgroups span two models and the last one is part idle
  ...[20, 100, 400, 1000].map((planM) => ({ planM, runM: planM === 20 ? 20 : 7, name: 'forward', h: 52, k0: 3072 })),
  // K not a multiple of the chunk: 3068 in 7 splits of 440 (a tail of 428)
  { planM: 400, runM: 7, name: 'forward', h: 52, k0: 3068 },
  ...['firstDw', 'hidden', 'dx', 'dw'].map((name) => ({ planM: 100, runM: 7, name, h: 52, k0: 3072 })),
  // a ragged width (44: 5.5 blocks of 8 per model), 1028 inputs, and 3 models
  ...['forward', 'dx', 'dw'].map((name) => ({ planM: 1000, runM: 3, name, h: 44, k0: 1028 })),
];

test("a population's batched products in the plans an H200 gets at 20 to 1000 models, forced here against float64", async ({ harness }) => {
  test.setTimeout(300_000);
  const jobs = cases.map((c) => ({ ...c, plan: layer(c.planM, c.h, c.k0)[c.name]!, run: layer(c.runM, c.h, c.k0)[c.name]! }));
  const r = await harness.page.evaluate(
    async ({ jobs, seed0 }) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      const h200 = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', runtime: 'node' as const };
      let seed = seed0 >>> 0;
      const random = (len: number) =>
        Float32Array.from({ length: len }, () => {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          return seed / 2 ** 31 - 1;
        });
      const asLayout = (p: (typeof jobs)[number]['run']) => ({
        ...p,
        batches: p.batch.count,
        batchA: p.batch.a,
        batchB: p.batch.b,
        batchC: p.batch.c,
      });
      const rows = [];
      for (const job of jobs) {
        const plan = lib.planMatmul(h200, asLayout(job.plan));
        const p = job.run;
        const { m, n, k, transA = false, transB = false, batch } = p;
        const [ar, ac] = transA ? [k, m] : [m, k];
        const [br, bc] = transB ? [n, k] : [k, n];
        const [lda, ldb, ldc] = [p.lda ?? ac, p.ldb ?? bc, p.ldc ?? n];
        const extent = (step: number, rows: number, ld: number, cols: number) => (batch.count - 1) * step + (rows - 1) * ld + cols;
        const a = random(extent(batch.a, ar, lda, ac));
        const b = random(extent(batch.b, br, ldb, bc));
        const bias = p.bias ? random(extent(batch.bias ?? 0, 1, 0, n)) : undefined;
        const owned: number[] = [];
        const want: number[] = [];
        for (let t = 0; t < batch.count; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = bias ? bias[t * (batch.bias ?? 0) + j]! : 0;
              for (let q = 0; q < k; q++)
                s +=
                  (transA ? a[t * batch.a + q * lda + i]! : a[t * batch.a + i * lda + q]!) *
                  (transB ? b[t * batch.b + j * ldb + q]! : b[t * batch.b + q * ldb + j]!);
              owned.push(t * batch.c + i * ldc + j);
              want.push(s);
            }
        const got = await lib.withScope(gpu, async (scope) => {
          const c = window.setup.poisoned(scope, extent(batch.c, m, ldc, n), 'c');
          const force = { variant: plan.variant, workgroupSize: plan.wg, splits: plan.splits };
          const ds = await lib.createMatmul(scope, {
            ...{ a: window.setup.upload(scope, a, 'a'), b: window.setup.upload(scope, b, 'b'), c },
            ...{ bias: bias ? window.setup.upload(scope, bias, 'bias') : undefined, m, n, k, transA, transB, lda, ldb, ldc, batch },
            ...force,
          });
          await lib.runDispatches(gpu, ds);
          const out = await window.setup.read(gpu, c, extent(batch.c, m, ldc, n));
          return { values: owned.map((i) => out[i]!), labels: ds.map((d) => d.label) };
        });
        rows.push({
          what: `${p.what} ${m}x${n}x${k} planned at ${job.planM} models, run at ${batch.count}: ${plan.variant} wg=${plan.wg} splits=${plan.splits}`,
          variant: plan.variant,
          wg: plan.wg,
          splits: plan.splits,
          planned: plan.workgroups,
          labels: got.labels,
          err: window.check.scaled(got.values, want),
        });
      }
      return { rows, seed0 };
    },
    { jobs, seed0: testSeed(0x6d2b79f5) },
  );
  console.log(r.rows.map((x) => `${x.what}: planned grid ${x.planned.join('x')}, rel ${x.err.toExponential(2)}`).join('\n'));
  for (const x of r.rows) {
    expect(x.err, `${x.what} (seed ${r.seed0})`).toBeLessThan(tol);
    expect(x.labels[0], x.what).toContain(` ${x.variant} `);
    expect(x.labels[0], x.what).toContain(` wg=${x.wg}`);
    expect(x.labels.length, `${x.what}: a reduce pass behind a split`).toBe(x.splits === 1 ? 1 : 2);
  }
  // the plans this spec is about: the aligned batched products pack over the models, and the first layer's K splits
  // shrink as the models fill the GPU (24, 24, 7, 3)
  expect(r.rows.filter((x) => x.what.startsWith('first layer forward 50x52x3072')).map((x) => `${x.variant} ${x.splits}`)).toEqual([
    'block8vec4 24',
    'block8vec4 24',
    'block8vec4 7',
    'block8vec4 3',
  ]);
  expect(r.rows.every((x) => x.variant === 'block8vec4')).toBe(true);
});
