// The workgroup-memory tiled matmul kernels (tile64, tile128, tile128k16) forced by name against a float64 product computed
// in the page: ragged M and N past one tile, K tails, the four layouts, bias, split K, batched column blocks.
import { testOnOnePage as test, expect } from '../fixtures.ts';
import { testSeed } from '../seed.ts';

// max |gpu - f64| / max |f64| over C (as e2e/kernels/matmul.spec.ts: far under 1e-4 for k up to a few thousand).
const tol = 1e-4;

type Variant = 'tile64' | 'tile128' | 'tile128k16';
interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  bias: boolean;
  splits?: number;
  /** Batches as a population lays them out: C's and A's column blocks of wider matrices (A shared when `sharedA`). */
  batches?: number;
  sharedA?: boolean;
}

// Shapes ragged against both tiles (64, 128), with K tails of every K tile depth (8, 16), in the layouts backprop uses.
function casesFor(): Case[] {
  return [
    { m: 131, n: 67, k: 37, transA: false, transB: false, bias: true },
    { m: 70, n: 133, k: 21, transA: true, transB: false, bias: true },
    { m: 67, n: 131, k: 19, transA: false, transB: true, bias: true },
    { m: 9, n: 130, k: 41, transA: true, transB: true, bias: true },
    { m: 1, n: 1, k: 1, transA: false, transB: true, bias: true },
    // split K: partial tiles at each split's end, the reduce pass adds the bias
    { m: 65, n: 129, k: 83, transA: false, transB: true, bias: true, splits: 3 },
    // a population's layouts: forward with A shared, dx = dout·Wᵀ per model, both over column blocks of C
    { m: 37, n: 53, k: 23, transA: false, transB: false, bias: true, batches: 3, sharedA: true },
    { m: 37, n: 29, k: 53, transA: false, transB: true, bias: true, batches: 3, sharedA: false },
  ];
}

async function runCases(page: import('@playwright/test').Page, variant: Variant, list: Case[]) {
  return page.evaluate(
    async ({ variant, list, seed0 }) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      let seed = seed0 >>> 0;
      const random = (len: number) =>
        Float32Array.from({ length: len }, () => {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          return seed / 2 ** 31 - 1;
        });
      const storage = gpu.device.limits.maxComputeWorkgroupStorageSize;
      const rows = [];
      for (const c of list) {
        const { m, n, k, transA, transB } = c;
        const B = c.batches ?? 1;
        const [ar, ac] = transA ? [k, m] : [m, k];
        const [br, bc] = transB ? [n, k] : [k, n];
        const lda = c.sharedA || B === 1 ? ac : B * ac;
        const a = random(ar * lda);
        const b = random(B * br * bc);
        const bias = c.bias ? random(B * n) : undefined;
        const got = await lib.withScope(gpu, async (scope) => {
          const cBuf = window.setup.poisoned(scope, m * B * n, 'c');
          try {
            const ds = await lib.createMatmul(scope, {
              a: scope.createTensorBuffer(a, 'a'),
              b: scope.createTensorBuffer(b, 'b'),
              c: cBuf,
              bias: bias ? scope.createTensorBuffer(bias, 'bias') : undefined,
              m,
              n,
              k,
              transA,
              transB,
              lda,
              ldc: B * n,
              variant,
              splits: c.splits,
              batch: B > 1 ? { count: B, a: c.sharedA ? 0 : ac, b: br * bc, c: n, bias: n } : undefined,
            });
            await lib.runDispatches(gpu, ds);
            return { labels: ds.map((d) => d.label), c: await lib.readF32(gpu, cBuf, m * B * n) };
          } catch (e) {
            return { refused: (e as Error).message };
          }
        });
        const want = new Float64Array(m * B * n);
        for (let t = 0; t < B; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = bias ? bias[t * n + j]! : 0;
              const oa = c.sharedA ? 0 : t * ac;
              for (let q = 0; q < k; q++)
                s +=
                  (transA ? a[q * lda + oa + i]! : a[i * lda + oa + q]!) *
                  (transB ? b[t * br * bc + j * bc + q]! : b[t * br * bc + q * bc + j]!);
              want[i * B * n + t * n + j] = s;
            }
        rows.push({ ...c, ...got, rel: got.c ? window.check.scaled(got.c, want) : NaN });
      }
      return { rows, seed0, storage, live: gpu.stats.buffersLive };
    },
    { variant, list, seed0: testSeed(0x7f4a7c15) },
  );
}

for (const variant of ['tile64', 'tile128', 'tile128k16'] as const) {
  test(`${variant}: ragged M, N past a tile and K tails in all four layouts, bias, split K, batched column blocks`, async ({ harness }) => {
    // the 16-deep K tile doubles the unrolled loads and products: SwiftShader takes about 30 s a pipeline to compile it
    test.slow(variant === 'tile128k16', 'tile128k16 compiles slowly on CPU adapters');
    const list = casesFor();
    const out = await runCases(harness.page, variant, list);
    expect(out.rows).toHaveLength(list.length);
    expect(out.live, 'buffers left alive').toBe(0);
    // tile128k16 takes 32 KB of workgroup memory: it runs where the device grants that, and is refused by name elsewhere
    if (variant === 'tile128k16' && out.storage < 32768) {
      for (const r of out.rows) expect(r.refused).toContain('maxComputeWorkgroupStorageSize');
      return;
    }
    const bad = out.rows.filter((r) => !(r.rel < tol) || !r.labels?.[0]?.includes(` ${variant} `));
    expect(
      bad.map(
        (r) =>
          `${r.m}x${r.n}x${r.k} transA=${r.transA} transB=${r.transB} ${r.labels?.join(' + ') ?? r.refused}: rel ${r.rel} (seed ${out.seed0})`,
      ),
    ).toEqual([]);
    // the split case ran its reduce pass
    expect(out.rows.filter((r) => r.splits).every((r) => r.labels!.length === 2 && r.labels![1]!.includes('reduce'))).toBe(true);
  });
}

test("an NVIDIA adapter's auto plan for a dx = dout·Wᵀ of 257x256x70 is tile64, and that plan runs here against float64", async ({
  harness,
}) => {
  const shape = { m: 257, n: 256, k: 70, transA: false, transB: true };
  const plan = await harness.page.evaluate((s) => {
    const nvidia = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', runtime: 'node' as const };
    const p = window.lib.planMatmul(nvidia, s);
    return { variant: p.variant, wg: p.wg, splits: p.splits };
  }, shape);
  expect(plan).toEqual({ variant: 'tile64', wg: 64, splits: 1 });
  const out = await runCases(harness.page, 'tile64', [{ ...shape, bias: true }]);
  expect(out.rows[0]!.labels![0]).toContain(' tile64 wg=64 ');
  expect(out.rows[0]!.rel, `seed ${out.seed0}`).toBeLessThan(tol);
});
