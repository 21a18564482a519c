// Batchnorm kernels in headless Chromium vs the float64 reference: forward (train, running stats, test) and both backwards.
import { test, expect } from '../fixtures.ts';

// Thresholds, with the seed's relError for the per-feature statistics (mean, invStd, running stats:
// far from 0) and, for everything that can cancel to ~0, the error relative to the magnitude of the
// operands that were rounded (|diff| / mag elementwise, mag >= |ref|): with N = 2, for instance, the
// true dx is ~eps/var times its terms (xhat = +-1 whatever x is), so f32 can only promise accuracy
// relative to those terms, not to dx itself. Magnitudes, per element:
//   xhat:  |xhat| + |x| invStd            out: |gamma| (|xhat| + |x| invStd) + |beta|
//   dx:    |gamma| invStd / N (N |dout| + sum_i |dout| + m(xhat) sum_i |dout| m(xhat))
//   dbeta: sum_i |dout|                   dgamma: sum_i |dout| m(xhat)
// where m(xhat) = |xhat| + |x| invStd is xhat's own magnitude (the backward reads the GPU forward's xhat).
// Normalisation given the statistics is elementwise (< 1e-5); statistics and gradients are
// reductions (< 1e-4).
const elementwiseTol = 1e-5;
const reductionTol = 1e-4;

const ns = [1, 2, 3, 7, 50, 257];
const ds = [1, 3, 64, 101, 500];
// Batches large enough to be cut into row chunks (partial statistics + merge / combine passes).
const chunked: [number, number][] = [
  [1031, 37],
  [600, 3],
];
const cases: [number, number][] = [...ns.flatMap((n) => ds.map((d): [number, number] => [n, d])), ...chunked];

test('batchnorm forward: train statistics, output, saved xhat, running stats over 3 steps, test mode', async ({ harness }) => {
  const results = await harness.page.evaluate(async (cases) => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(20240601);
    const { f32, bounded } = window.check;
    const out: Record<string, number | string>[] = [];
    for (const [n, d] of cases) {
      const scope = lib.createScope(gpu);
      const write = (b: GPUBuffer, a: ArrayLike<number>) => gpu.device.queue.writeBuffer(b, 0, Float32Array.from(a));
      const gamma = f32(rng.randnTensor([d]).data);
      const beta = f32(rng.randnTensor([d]).data);
      const bnParam = {
        mode: 'train' as const,
        runningMean: f32(rng.randnTensor([d]).data),
        runningVar: f32(rng.randnTensor([d], 0.3, 1).data.map(Math.abs)),
      };
      const t = (a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
      const xb = scope.createTensorBuffer(n * d * 4, 'x');
      const [gb, bb, rm, rv] = [t(gamma, 'gamma'), t(beta, 'beta'), t(bnParam.runningMean, 'rm'), t(bnParam.runningVar, 'rv')];
      const ob = scope.createTensorBuffer(n * d * 4, 'out');
      const saved = {
        mean: scope.createTensorBuffer(d * 4, 'mean'),
        invStd: scope.createTensorBuffer(d * 4, 'invStd'),
        xhat: scope.createTensorBuffer(n * d * 4, 'xhat'),
      };
      const common = { x: xb, gamma: gb, beta: bb, out: ob, runningMean: rm, runningVar: rv, n, d };
      const train = await lib.createBatchNormForward(scope, { ...common, mode: 'train', saved });
      const testMode = await lib.createBatchNormForward(scope, { ...common, mode: 'test' });
      const r: Record<string, number | string> = { n, d, dispatches: train.length };
      for (let step = 0; step < 3; step++) {
        const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
        write(xb, x.data);
        window.setup.poison(gpu, ob, n * d);
        window.setup.poison(gpu, saved.mean, d);
        window.setup.poison(gpu, saved.invStd, d);
        window.setup.poison(gpu, saved.xhat, n * d);
        await lib.runDispatches(gpu, train, `bn train ${n}x${d}`);
        const want = ref.forwardBatchNormalization(x, gamma, beta, bnParam);
        if (step === 2) {
          const ivar = want.cache.ivar;
          const xhatMag = (i: number) => Math.abs(want.cache.xhat.data[i]!) + Math.abs(x.data[i]!) * ivar[i % d]!;
          r.out = bounded(
            await lib.readF32(gpu, ob, n * d),
            want.out.data,
            (i) => Math.abs(gamma[i % d]!) * xhatMag(i) + Math.abs(beta[i % d]!),
          );
          r.xhat = bounded(await lib.readF32(gpu, saved.xhat, n * d), want.cache.xhat.data, xhatMag);
          r.mean = ref.relError(await lib.readF32(gpu, saved.mean, d), want.cache.mu);
          r.invStd = ref.relError(await lib.readF32(gpu, saved.invStd, d), ivar);
        }
      }
      r.runningMean = ref.relError(await lib.readF32(gpu, rm, d), bnParam.runningMean);
      r.runningVar = ref.relError(await lib.readF32(gpu, rv, d), bnParam.runningVar);
      const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
      write(xb, x.data);
      window.setup.poison(gpu, ob, n * d);
      const rmBefore = await lib.readF32(gpu, rm, d);
      await lib.runDispatches(gpu, testMode, `bn test ${n}x${d}`);
      const wantTest = ref.forwardBatchNormalization(x, gamma, beta, { ...bnParam, mode: 'test' });
      const ivarTest = wantTest.cache.ivar;
      r.test = bounded(
        await lib.readF32(gpu, ob, n * d),
        wantTest.out.data,
        (i) =>
          Math.abs(gamma[i % d]!) * (Math.abs(wantTest.cache.xhat.data[i]!) + Math.abs(x.data[i]!) * ivarTest[i % d]!) +
          Math.abs(beta[i % d]!),
      );
      r.testLeavesRunning = ref.relError(await lib.readF32(gpu, rm, d), rmBefore);
      // test mode forced to the GPUs' 8 rows a lane (more invocations, a taller grid) on the same input
      const testGpuRows = await lib.createBatchNormForward(scope, { ...common, mode: 'test', rowsPerLane: 8 });
      window.setup.poison(gpu, ob, n * d);
      await lib.runDispatches(gpu, testGpuRows, `bn test ${n}x${d} 8 rows a lane`);
      r.testGpuRows = bounded(
        await lib.readF32(gpu, ob, n * d),
        wantTest.out.data,
        (i) =>
          Math.abs(gamma[i % d]!) * (Math.abs(wantTest.cache.xhat.data[i]!) + Math.abs(x.data[i]!) * ivarTest[i % d]!) +
          Math.abs(beta[i % d]!),
      );
      r.testGpuRowsGridY = testGpuRows[0]!.workgroups[1];
      scope.destroy();
      out.push(r);
    }
    return out;
  }, cases);
  const worst = (k: string) => Math.max(...results.map((r) => r[k] as number)).toExponential(2);
  console.log(
    `batchnorm forward, ${results.length} shapes, worst: out ${worst('out')}, xhat ${worst('xhat')}, mean ${worst('mean')}, ` +
      `invStd ${worst('invStd')}, running ${worst('runningMean')}/${worst('runningVar')}, test ${worst('test')}`,
  );
  for (const r of results) {
    const at = `N=${r.n} D=${r.d}`;
    expect(r.out, `out ${at}`).toBeLessThan(elementwiseTol);
    expect(r.xhat, `xhat ${at}`).toBeLessThan(elementwiseTol);
    expect(r.mean, `mean ${at}`).toBeLessThan(reductionTol);
    expect(r.invStd, `invStd ${at}`).toBeLessThan(reductionTol);
    expect(r.runningMean, `runningMean after 3 steps ${at}`).toBeLessThan(reductionTol);
    expect(r.runningVar, `runningVar after 3 steps ${at}`).toBeLessThan(reductionTol);
    expect(r.test, `test-mode out ${at}`).toBeLessThan(elementwiseTol);
    expect(r.testLeavesRunning, `test mode leaves running stats ${at}`).toBe(0);
    expect(r.testGpuRows, `test-mode out at the GPUs' 8 rows a lane ${at}`).toBeLessThan(elementwiseTol);
    expect(r.testGpuRowsGridY, `8 rows a lane: ceil(N / 8) workgroups in y ${at}`).toBe(Math.ceil((r.n as number) / 8));
  }
  const big = results.find((r) => r.n === 1031)!;
  expect(big.dispatches, 'N=1031 is cut into chunks: stats, merge, normalize').toBe(3);
});

test('batchnorm backward: graph and alternative equal each other and the reference; N = 1 is finite', async ({ harness }) => {
  const results = await harness.page.evaluate(async (cases) => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(77);
    const { f32, bounded } = window.check;
    const out: Record<string, number | boolean>[] = [];
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
      const r: Record<string, number | boolean> = { n, d, storageBindings: gpu.device.limits.maxStorageBuffersPerShaderStage };
      const got: Record<string, { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }> = {};
      for (const [name, variant, fromX] of [
        ['graph', 'graph', true],
        ['graphXhat', 'graph', false],
        ['alternative', 'alternative', false],
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
        });
        await lib.runDispatches(gpu, list, `bn backward ${name}`);
        const g = {
          dx: await lib.readF32(gpu, dx, n * d),
          dgamma: await lib.readF32(gpu, dgamma, d),
          dbeta: await lib.readF32(gpu, dbeta, d),
        };
        got[name] = g;
        r[`${name}Passes`] = list.length;
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
  }, cases);
  const worst = (k: string) => Math.max(...results.map((r) => r[k] as number)).toExponential(2);
  console.log(
    `batchnorm backward, ${results.length} shapes, worst: graph dx ${worst('graphDx')}, graph(xhat) dx ${worst('graphXhatDx')}, ` +
      `alternative dx ${worst('alternativeDx')}, dgamma ${worst('alternativeDgamma')}, dbeta ${worst('alternativeDbeta')}, graph vs alt ${worst('graphVsAlt')}`,
  );
  for (const r of results) {
    const at = `N=${r.n} D=${r.d}`;
    for (const v of ['graph', 'graphXhat', 'alternative']) {
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
    const chunkedBatch = (r.n as number) >= 512;
    expect(r.graphPasses, `graph passes ${at}`).toBe(chunkedBatch ? 8 : 5);
    expect(r.graphXhatPasses, `graph (xhat) passes ${at}`).toBe(chunkedBatch ? 8 : (r.storageBindings as number) >= 9 ? 1 : 5);
    expect(r.alternativePasses, `alternative passes ${at}`).toBe(chunkedBatch ? 3 : 1);
  }
});

test('batchnorm host forms (notebook-style) match the reference and write running stats back', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(5);
    const { f32, scaled } = window.check;
    // The notebook's gradient-check cell: N = 4, D = 5, x = 5 randn + 12.
    const [n, d] = [4, 5];
    const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
    const gamma = f32(rng.randnTensor([d]).data);
    const beta = f32(rng.randnTensor([d]).data);
    const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
    const refParam: { mode: 'train' } = { mode: 'train' };
    const gpuParam: { mode: 'train'; runningMean?: Float32Array | Float64Array } = { mode: 'train' };
    const want = ref.forwardBatchNormalization(x, gamma, beta, refParam);
    const got = await lib.forwardBatchNormalization(gpu, x, gamma, beta, gpuParam);
    const g1 = await lib.backwardBatchNormalization(gpu, dout, got.cache);
    const g2 = await lib.backwardBatchNormalizationAlternative(gpu, dout, got.cache);
    const w1 = ref.backwardBatchNormalization(dout, want.cache);
    let unknownKey = '';
    try {
      await lib.forwardBatchNormalization(gpu, x, gamma, beta, { mode: 'train', epsilon: 1 } as never);
    } catch (e) {
      unknownKey = (e as Error).message;
    }
    let testCache = '';
    const t = await lib.forwardBatchNormalization(gpu, x, gamma, beta, { ...gpuParam, mode: 'test' });
    try {
      await lib.backwardBatchNormalization(gpu, dout, t.cache);
    } catch (e) {
      testCache = (e as Error).message;
    }
    return {
      out: scaled(got.out.data, want.out.data),
      runningMean: ref.relError(
        gpuParam.runningMean!,
        want.cache.mu.map((m) => 0.1 * m),
      ),
      dx: scaled(g1.dx.data, w1.dx.data),
      dxAlt: scaled(g2.dx.data, w1.dx.data),
      dgamma: scaled(g1.dgamma, w1.dgamma),
      dbeta: scaled(g2.dbeta, w1.dbeta),
      unknownKey,
      testCache,
      live: gpu.stats.buffersLive,
    };
  });
  // Normalised by the largest reference value (max|gpu - ref| / max|ref|); reductions < 1e-4.
  expect(r.out).toBeLessThan(1e-5);
  expect(r.runningMean).toBeLessThan(1e-5);
  expect(r.dx).toBeLessThan(1e-4);
  expect(r.dxAlt).toBeLessThan(1e-4);
  expect(r.dgamma).toBeLessThan(1e-4);
  expect(r.dbeta).toBeLessThan(1e-4);
  expect(r.unknownKey).toContain('epsilon');
  expect(r.testCache).toContain('train mode only');
  expect(r.live, 'host forms destroy their buffers').toBe(0);
});
