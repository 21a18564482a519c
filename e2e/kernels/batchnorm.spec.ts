// Batchnorm forward kernels in headless Chromium vs the float64 reference: train (statistics, output, saved xhat,
// running statistics; also at the GPUs' 64-row chunks forced), test mode, and the notebook-style host forms.
import { test, expect } from '../fixtures.ts';
import { cases, chunked, elementwiseTol, gpuChunkRows, reductionTol } from './batchnorm-cases.ts';

// Each shape at the plan's chunking; the chunked ones (and one more) also at the GPUs' 64-row chunks, forced on any adapter.
const forwardCases: [number, number, number | undefined][] = [
  ...cases.map(([n, d]): [number, number, undefined] => [n, d, undefined]),
  ...[...chunked, [777, 130] as [number, number]].map(([n, d]): [number, number, number] => [n, d, gpuChunkRows]),
];

test('batchnorm forward: train statistics, output, saved xhat, running stats over 3 steps, test mode', async ({ harness }) => {
  const results = await harness.page.evaluate(async (cases) => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(20240601);
    const { f32, bounded } = window.check;
    const out: Record<string, number | string>[] = [];
    for (const [n, d, minChunkRows] of cases) {
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
      const train = await lib.createBatchNormForward(scope, { ...common, mode: 'train', saved, minChunkRows });
      const testMode = await lib.createBatchNormForward(scope, { ...common, mode: 'test' });
      const r: Record<string, number | string> = {
        n,
        d,
        minChunkRows: minChunkRows ?? 0,
        dispatches: train.length,
        gridY: train[0]!.workgroups[1],
        planned: lib.planColumnTiling(gpu.adapter, n, d, minChunkRows).chunks,
        cpuChunks: lib.columnTiling(n, d).chunks,
        bad: await lib.createBatchNormForward(scope, { ...common, mode: 'train', minChunkRows: 0 }).then(
          () => 'no error',
          (e: Error) => e.message,
        ),
      };
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
  }, forwardCases);
  const worst = (k: string) => Math.max(...results.map((r) => r[k] as number)).toExponential(2);
  console.log(
    `batchnorm forward, ${results.length} shapes, worst: out ${worst('out')}, xhat ${worst('xhat')}, mean ${worst('mean')}, ` +
      `invStd ${worst('invStd')}, running ${worst('runningMean')}/${worst('runningVar')}, test ${worst('test')}`,
  );
  for (const r of results) {
    const at = `N=${r.n} D=${r.d}${r.minChunkRows ? ` at ${r.minChunkRows}-row chunks` : ''}`;
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
    expect(r.bad, at).toContain('minChunkRows must be a whole number >= 1, got 0');
    if (!r.minChunkRows) continue;
    // forced 64-row chunks ran as planned: chunks of at least 64 rows in y, more than the CPU adapters' 256-row chunks
    expect(r.gridY, `64-row chunks ${at}`).toBe(r.planned);
    expect(r.planned as number, `64-row chunks ${at}`).toBeLessThanOrEqual(Math.floor((r.n as number) / gpuChunkRows));
    expect(r.planned as number, `64-row chunks ${at}`).toBeGreaterThan(r.cpuChunks as number);
  }
  const big = results.find((r) => r.n === 1031 && !r.minChunkRows)!;
  expect(big.dispatches, 'N=1031 is cut into chunks: stats, merge, normalize').toBe(3);
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
