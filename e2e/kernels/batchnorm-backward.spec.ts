// Batchnorm backward kernels in headless Chromium vs the float64 reference: the staged graph (per node, and in one
// dispatch) and the closed form ('alternative'), at the plan's chunking and at the GPUs' chunking forced.
import { test, expect } from '../fixtures.ts';
import { cases, gpuChunkRows, reductionTol } from './batchnorm-cases.ts';

test('batchnorm backward: graph and alternative equal each other and the reference; N = 1 is finite', async ({ harness }) => {
  const results = await harness.page.evaluate(
    async ({ cases, minChunkRows }) => {
      const { lib } = window;
      const ref = lib.reference;
      const gpu = await window.gpuReady;
      const rng = ref.makeRng(77);
      const { f32, bounded } = window.check;
      const out: Record<string, number | boolean | string>[] = [];
      for (const [n, d] of cases) {
        const scope = lib.createScope(gpu);
        const t = (a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
        const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
        const gamma = f32(rng.randnTensor([d]).data);
        const beta = f32(rng.randnTensor([d]).data);
        const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
        const { cache } = ref.forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
        const want = ref.backwardBatchNormalization(dout, cache);
        const wantAlt = ref.backwardBatchNormalizationAlternative(dout, cache);
        // Operand magnitudes (see the header): sums of |dout| and |dout xhat| per feature.
        const xhatMag = (i: number) => Math.abs(cache.xhat.data[i]!) + Math.abs(x.data[i]!) * cache.ivar[i % d]!;
        const absDbeta = new Float64Array(d);
        const absDgamma = new Float64Array(d);
        for (let i = 0; i < n * d; i++) {
          absDbeta[i % d] += Math.abs(dout.data[i]!);
          absDgamma[i % d] += Math.abs(dout.data[i]!) * xhatMag(i);
        }
        const dxMag = (i: number) => {
          const j = i % d;
          return ((Math.abs(gamma[j]!) * cache.ivar[j]!) / n) * (n * Math.abs(dout.data[i]!) + absDbeta[j]! + xhatMag(i) * absDgamma[j]!);
        };
        // The GPU forward makes the saved mean / invStd / xhat the backward reads, as in training.
        const xb = t(x.data, 'x');
        const gb = t(gamma, 'gamma');
        const saved = {
          mean: scope.createTensorBuffer(d * 4, 'mean'),
          invStd: scope.createTensorBuffer(d * 4, 'invStd'),
          xhat: scope.createTensorBuffer(n * d * 4, 'xhat'),
        };
        const fwd = await lib.createBatchNormForward(scope, {
          x: xb,
          gamma: gb,
          beta: t(beta, 'beta'),
          out: scope.createTensorBuffer(n * d * 4, 'out'),
          runningMean: scope.createTensorBuffer(d * 4, 'rm'),
          runningVar: scope.createTensorBuffer(d * 4, 'rv'),
          n,
          d,
          mode: 'train',
          saved,
        });
        await lib.runDispatches(gpu, fwd, 'bn forward');
        const db = t(dout.data, 'dout');
        const r: Record<string, number | boolean | string> = {
          n,
          d,
          storageBindings: gpu.device.limits.maxStorageBuffersPerShaderStage,
          layout: lib.planBnBackwardLayout(gpu.adapter, n, d)?.kind ?? 'null',
          gpuChunks: lib.planColumnTiling(gpu.adapter, n, d, minChunkRows).chunks,
        };
        const got: Record<string, { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }> = {};
        // the GPUs' settings forced on any adapter: 64-row chunks of the column sums (a GPU's plan for a batch of several
        // chunks), the alternative's chunk kernels (a GPU plans a layout there: batchnorm-shapes.spec.ts)
        const gpuChunks = { minChunkRows, layout: 'chunks' as const };
        for (const [name, variant, fromX, forced] of [
          ['graph', 'graph', true, {}],
          ['graphXhat', 'graph', false, {}],
          ['alternative', 'alternative', false, {}],
          ['graphGpuChunks', 'graph', true, { minChunkRows }],
          ['alternativeGpuChunks', 'alternative', false, gpuChunks],
        ] as const) {
          const dx = scope.createTensorBuffer(n * d * 4, 'dx');
          const dgamma = scope.createTensorBuffer(d * 4, 'dgamma');
          const dbeta = scope.createTensorBuffer(d * 4, 'dbeta');
          window.setup.poison(gpu, dx, n * d);
          window.setup.poison(gpu, dgamma, d);
          window.setup.poison(gpu, dbeta, d);
          const list = await lib.createBatchNormBackward(scope, {
            dout: db,
            xhat: saved.xhat,
            invStd: saved.invStd,
            gamma: gb,
            dx,
            dgamma,
            dbeta,
            n,
            d,
            variant,
            // graph from x: one dispatch per node; graph from xhat: the default plan (one-chunk batches in one dispatch
            // where the device binds its 9 storage buffers)
            ...(fromX ? { x: xb, mean: saved.mean, graphInOne: false } : {}),
            ...forced,
          });
          await lib.runDispatches(gpu, list, `bn backward ${name}`);
          const g = {
            dx: await lib.readF32(gpu, dx, n * d),
            dgamma: await lib.readF32(gpu, dgamma, d),
            dbeta: await lib.readF32(gpu, dbeta, d),
          };
          got[name] = g;
          r[`${name}Passes`] = list.length;
          r[`${name}GridY`] = list[0]!.workgroups[1];
          r[`${name}Dx`] = bounded(g.dx, want.dx.data, dxMag);
          r[`${name}Dgamma`] = bounded(g.dgamma, want.dgamma, (j) => absDgamma[j]!);
          r[`${name}Dbeta`] = bounded(g.dbeta, want.dbeta, (j) => absDbeta[j]!);
          r[`${name}Finite`] = [...g.dx, ...g.dgamma, ...g.dbeta].every(Number.isFinite);
        }
        r.refAgree = bounded(wantAlt.dx.data, want.dx.data, dxMag);
        r.graphVsAlt = bounded(got.graph!.dx, got.alternative!.dx, dxMag);
        r.graphVsAltDgamma = bounded(got.graph!.dgamma, got.alternative!.dgamma, (j) => absDgamma[j]!);
        r.maxAbsDxN1 = n === 1 ? Math.max(...got.graph!.dx.map(Math.abs), ...got.alternative!.dx.map(Math.abs)) : 0;
        scope.destroy();
        out.push(r);
      }
      return out;
    },
    { cases, minChunkRows: gpuChunkRows },
  );
  const minChunkRows = gpuChunkRows;
  const worst = (k: string) => Math.max(...results.map((r) => r[k] as number)).toExponential(2);
  console.log(
    `batchnorm backward, ${results.length} shapes, worst: graph dx ${worst('graphDx')}, graph(xhat) dx ${worst('graphXhatDx')}, ` +
      `alternative dx ${worst('alternativeDx')}, dgamma ${worst('alternativeDgamma')}, dbeta ${worst('alternativeDbeta')}, graph vs alt ${worst('graphVsAlt')}`,
  );
  for (const r of results) {
    const at = `N=${r.n} D=${r.d}`;
    for (const v of ['graph', 'graphXhat', 'alternative', 'graphGpuChunks', 'alternativeGpuChunks']) {
      expect(r[`${v}Finite`], `${v} finite ${at}`).toBe(true);
      expect(r[`${v}Dx`], `${v} dx ${at}`).toBeLessThan(reductionTol);
      expect(r[`${v}Dgamma`], `${v} dgamma ${at}`).toBeLessThan(reductionTol);
      expect(r[`${v}Dbeta`], `${v} dbeta ${at}`).toBeLessThan(reductionTol);
    }
    expect(r.refAgree, `reference graph vs closed form ${at}`).toBeLessThan(1e-9);
    expect(r.graphVsAlt, `graph dx vs alternative dx ${at}`).toBeLessThan(reductionTol);
    expect(r.graphVsAltDgamma, `graph dgamma vs alternative dgamma ${at}`).toBeLessThan(reductionTol);
    // With one row the variance is 0, xhat is 0 and dx is exactly 0 in float64: the GPU must not blow up.
    if (r.n === 1) expect(r.maxAbsDxN1, `N=1 dx ${at}`).toBeLessThan(1e-6);
    // The graph really runs its node groups as passes (forced per node, or by default in one dispatch for a one-chunk
    // batch where the device allows it); the alternative is one fused pass (sums, then dx, in the workgroup that owns
    // the columns), or when the batch is cut into chunks partial sums + combine + dx.
    // A GPU adapter plans the alternative's layouts where the batch is several chunks (fused: one pass; split: three).
    const chunkedBatch = (r.n as number) >= 512;
    expect(r.graphPasses, `graph passes ${at}`).toBe(chunkedBatch ? 8 : 5);
    expect(r.graphXhatPasses, `graph (xhat) passes ${at}`).toBe(chunkedBatch ? 8 : (r.storageBindings as number) >= 9 ? 1 : 5);
    const layoutPasses = r.layout === 'null' ? (chunkedBatch ? 3 : 1) : r.layout === 'fused' ? 1 : 3;
    expect(r.alternativePasses, `alternative passes ${at} (layout ${r.layout})`).toBe(layoutPasses);
    // forced 64-row chunks: the column sums' grid has ceil(N / chunk rows) chunks in y (one chunk under 128 rows)
    expect(r.graphGpuChunksPasses, `graph passes at 64-row chunks ${at}`).toBe((r.n as number) >= 2 * minChunkRows ? 8 : 5);
    expect(r.alternativeGpuChunksPasses, `alternative passes at 64-row chunks ${at}`).toBe((r.n as number) >= 2 * minChunkRows ? 3 : 1);
    if ((r.n as number) >= 2 * minChunkRows) {
      expect(r.graphGpuChunksGridY, at).toBe(r.gpuChunks);
      expect(r.alternativeGpuChunksGridY, at).toBe(r.gpuChunks);
    }
  }
});
