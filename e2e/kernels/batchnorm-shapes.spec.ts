// Batchnorm backward's large-array layouts (src/ops/batchnorm-backward-shapes.ts) forced at scaled-down tall and wide
// shapes in headless Chromium, against the float64 reference (the seed's closed form), with and without the fused ReLU.
import { test, expect } from '../fixtures.ts';
import type { BnBackwardLayout } from '../../src/engine.ts';

// max |gpu - f64| / max |f64| per output: column sums over up to 4099 rows and dx built from them (as batchnorm.spec.ts's
// reduction tolerance).
const tol = 1e-4;

type Case = [n: number, d: number, layout: BnBackwardLayout, relu: boolean];
const cases: Case[] = [
  // tall: many row splits, a partial last split, d under one column lane group
  [4099, 7, { kind: 'split', splits: 64 }, false],
  [4099, 7, { kind: 'split', splits: 5 }, true],
  [4099, 37, { kind: 'split', splits: 1 }, false],
  [130, 65, { kind: 'split', splits: 130 }, true],
  // wide: one workgroup per few columns, every row in registers, a ragged last column group
  [5, 2053, { kind: 'fused', cols: 8 }, false],
  [5, 2053, { kind: 'fused', cols: 32 }, true],
  [3, 1031, { kind: 'fused', cols: 256 }, false],
  // the fused layout at its row limits: 1024 rows at 8 columns, 2048 at 4, 8192 at 1 (a partial last register row)
  [1024, 13, { kind: 'fused', cols: 8 }, true],
  [2047, 9, { kind: 'fused', cols: 4 }, false],
  [8191, 3, { kind: 'fused', cols: 1 }, false],
  // the GPUs' picks at the wide nets' batches (planBnBackwardLayout): 4 columns at 1024 rows, 2 at 4096, ragged below them
  [1021, 13, { kind: 'fused', cols: 4 }, true],
  [4093, 6, { kind: 'fused', cols: 2 }, true],
  [3, 9, { kind: 'fused', cols: 8 }, false],
];

test('batchnorm backward layouts: fused (wide) and split (tall) at ragged shapes, with and without ReLU, against float64', async ({
  harness,
}) => {
  const out = await harness.page.evaluate(async (cases) => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(20261204);
    const rows = [];
    for (const [n, d, layout, relu] of cases) {
      const x = ref.makeTensor([n, d], rng.randnTensor([n, d], 3, 2).data);
      const gamma = rng.randnTensor([d]).data;
      const beta = rng.randnTensor([d]).data;
      const { cache } = ref.forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
      const dout = ref.makeTensor([n, d], Float64Array.from(Float32Array.from(rng.randnTensor([n, d]).data)));
      const reluOut = Float32Array.from(rng.randnTensor([n, d]).data.map((v) => Math.max(0, v)));
      // the reference on exactly what the GPU reads: f32 xhat, invStd and gamma; dout masked by reluOut > 0 with ReLU
      const f32Cache = {
        ...cache,
        gamma: Float64Array.from(Float32Array.from(gamma)),
        xhat: ref.makeTensor([n, d], Float64Array.from(Float32Array.from(cache.xhat.data))),
        sqrtvar: Float64Array.from(Float32Array.from(cache.sqrtvar.map((s) => 1 / s)), (v) => 1 / v),
      };
      const g = relu ? ref.reluBackward(dout, ref.makeTensor([n, d], Float64Array.from(reluOut))) : dout;
      const want = ref.backwardBatchNormalizationAlternative(g, f32Cache);
      const got = await lib.withScope(gpu, async (scope) => {
        const t = (a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
        const bufs = {
          dout: t(dout.data, 'dout'),
          xhat: t(f32Cache.xhat.data, 'xhat'),
          invStd: t(
            f32Cache.sqrtvar.map((s) => 1 / s),
            'invStd',
          ),
          gamma: t(gamma, 'gamma'),
          dx: window.setup.poisoned(scope, n * d, 'dx'),
          dgamma: window.setup.poisoned(scope, d, 'dgamma'),
          dbeta: window.setup.poisoned(scope, d, 'dbeta'),
          reluOut: relu ? t(reluOut, 'reluOut') : undefined,
        };
        const ds = await lib.createBatchNormBackward(scope, { ...bufs, n, d, variant: 'alternative', layout });
        await lib.runDispatches(gpu, ds);
        return {
          labels: ds.map((q) => q.label),
          dx: await lib.readF32(gpu, bufs.dx, n * d),
          dgamma: await lib.readF32(gpu, bufs.dgamma, d),
          dbeta: await lib.readF32(gpu, bufs.dbeta, d),
        };
      });
      const { scaled } = window.check;
      rows.push({
        what: `${n}x${d} ${JSON.stringify(layout)} relu=${relu}`,
        labels: got.labels,
        dx: scaled(got.dx, want.dx.data),
        dgamma: scaled(got.dgamma, want.dgamma),
        dbeta: scaled(got.dbeta, want.dbeta),
      });
    }
    // a layout that cannot hold the batch, and a bad setting, are refused by name
    const refusals = await lib.withScope(gpu, async (scope) => {
      const b = (len: number) => scope.createTensorBuffer(len * 4, 'b');
      const args = (n: number, d: number) => ({
        dout: b(n * d),
        xhat: b(n * d),
        dx: b(n * d),
        invStd: b(d),
        gamma: b(d),
        dgamma: b(d),
        dbeta: b(d),
        n,
        d,
      });
      const msg = async (f: () => Promise<unknown>) =>
        f().then(
          () => 'no error',
          (e: Error) => e.message,
        );
      return [
        await msg(() =>
          lib.createBatchNormBackward(scope, { ...args(1025, 4), variant: 'alternative', layout: { kind: 'fused', cols: 8 } }),
        ),
        await msg(() => lib.createBatchNormBackward(scope, { ...args(10, 4), variant: 'alternative', layout: { kind: 'fused', cols: 3 } })),
        await msg(() =>
          lib.createBatchNormBackward(scope, { ...args(10, 4), variant: 'alternative', layout: { kind: 'split', splits: 11 } }),
        ),
        await msg(() => lib.createBatchNormBackward(scope, { ...args(10, 4), variant: 'graph', layout: { kind: 'split', splits: 2 } })),
      ];
    });
    return { rows, refusals, live: gpu.stats.buffersLive };
  }, cases);
  expect(out.rows).toHaveLength(cases.length);
  for (const r of out.rows) {
    for (const key of ['dx', 'dgamma', 'dbeta'] as const) expect(r[key], `${r.what} ${key} (${r.labels.join(' + ')})`).toBeLessThan(tol);
  }
  // the forced layout is what ran: one fused dispatch, or split sums + combine + dx tiles
  for (const [i, [, , layout]] of cases.entries()) {
    const labels = out.rows[i]!.labels;
    if (layout.kind === 'fused') expect(labels).toEqual([expect.stringContaining(`fused cols=${layout.cols}`)]);
    else
      expect(labels.map((l) => l.replace(/.*\) n=\d+ d=\d+ /, ''))).toEqual([expect.stringContaining('split sums'), 'combine', 'dx tiles']);
  }
  expect(out.refusals[0]).toContain('holds at most 1024 rows');
  expect(out.refusals[1]).toContain('fused cols must be a power of two');
  expect(out.refusals[2]).toContain('splits must be an integer in [1, 10]');
  expect(out.refusals[3]).toContain('for the alternative variant only');
  expect(out.live, 'buffers left alive').toBe(0);
});
