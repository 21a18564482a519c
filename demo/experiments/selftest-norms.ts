// The self-test's normalization cases: batchnorm forward (train over one and several row chunks, test mode), backward
// (graph and alternative, with the fused ReLU) and layer norm (subgroups where the device has them, workgroup memory).
import { createBatchNormBackward, createBatchNormForward, createLayerNormBackward, createLayerNormForward } from '../../src/engine.ts';
import { createScope, readF32, runDispatches, type GpuContext, type GpuScope } from '../../src/engine.ts';
import { reference as ref } from '../../src/index.ts';
import { boundedError, f32, normError, relErr, type SelfTestCase, type SelfTestMeasure } from './selftest.ts';

// e2e/kernels/batchnorm.spec.ts, layernorm.spec.ts: normalisation given the statistics is elementwise (< 1e-5, relative
// to the rounded operands' magnitude); statistics (relError) and gradients are reductions (< 1e-4).
const elementwiseTol = 1e-5;
const reductionTol = 1e-4;

type Tensor = ReturnType<typeof ref.makeTensor>;
const upload = (scope: GpuScope, a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
const blank = (scope: GpuScope, count: number, label: string) => upload(scope, new Float32Array(count).fill(NaN), label);

async function withScope<T>(gpu: GpuContext, f: (scope: GpuScope) => Promise<T>): Promise<T> {
  const scope = createScope(gpu);
  try {
    return await f(scope);
  } finally {
    scope.destroy();
  }
}

/** The batchnorm forward: train (output, saved xhat, mean, invStd, running stats) then test mode (at `rowsPerLane` rows a lane when given), at n x d. */
async function bnForward(gpu: GpuContext, n: number, d: number, rowsPerLane?: number): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(20240601 + n);
  const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
  const gamma = f32(rng.randnTensor([d]).data);
  const beta = f32(rng.randnTensor([d]).data);
  const bnParam = {
    mode: 'train' as const,
    runningMean: f32(rng.randnTensor([d]).data),
    runningVar: f32(rng.randnTensor([d], 0.3, 1).data.map(Math.abs)),
  };
  return withScope(gpu, async (scope) => {
    const [rm, rv] = [upload(scope, bnParam.runningMean, 'rm'), upload(scope, bnParam.runningVar, 'rv')];
    const out = blank(scope, n * d, 'out');
    const saved = { mean: blank(scope, d, 'mean'), invStd: blank(scope, d, 'invStd'), xhat: blank(scope, n * d, 'xhat') };
    const common = {
      x: upload(scope, x.data, 'x'),
      gamma: upload(scope, gamma, 'gamma'),
      beta: upload(scope, beta, 'beta'),
      out,
      runningMean: rm,
      runningVar: rv,
      n,
      d,
    };
    await runDispatches(gpu, await createBatchNormForward(scope, { ...common, mode: 'train', saved }), 'selftest bn train');
    const want = ref.forwardBatchNormalization(x, gamma, beta, bnParam);
    const ivar = want.cache.ivar;
    const xhatMag = (i: number) => Math.abs(want.cache.xhat.data[i]!) + Math.abs(x.data[i]!) * ivar[i % d]!;
    const outMag = (i: number) => Math.abs(gamma[i % d]!) * xhatMag(i) + Math.abs(beta[i % d]!);
    const m: SelfTestMeasure[] = [
      { what: 'out', error: boundedError(await readF32(gpu, out, n * d), want.out.data, outMag), tolerance: elementwiseTol },
      {
        what: 'xhat',
        error: boundedError(await readF32(gpu, saved.xhat, n * d), want.cache.xhat.data, xhatMag),
        tolerance: elementwiseTol,
      },
      { what: 'mean', error: relErr(await readF32(gpu, saved.mean, d), want.cache.mu), tolerance: reductionTol },
      { what: 'invStd', error: relErr(await readF32(gpu, saved.invStd, d), ivar), tolerance: reductionTol },
      { what: 'runningMean', error: relErr(await readF32(gpu, rm, d), bnParam.runningMean), tolerance: reductionTol },
      { what: 'runningVar', error: relErr(await readF32(gpu, rv, d), bnParam.runningVar), tolerance: reductionTol },
    ];
    // test mode with the running statistics the train step left (the reference's, after its update)
    await runDispatches(gpu, await createBatchNormForward(scope, { ...common, mode: 'test', rowsPerLane }), 'selftest bn test');
    const wantTest = ref.forwardBatchNormalization(x, gamma, beta, { ...bnParam, mode: 'test' });
    const testMag = (i: number) =>
      Math.abs(gamma[i % d]!) * (Math.abs(wantTest.cache.xhat.data[i]!) + Math.abs(x.data[i]!) * wantTest.cache.ivar[i % d]!) +
      Math.abs(beta[i % d]!);
    m.push({
      what: 'test out',
      error: boundedError(await readF32(gpu, out, n * d), wantTest.out.data, testMag),
      tolerance: elementwiseTol,
    });
    return m;
  });
}

/** The batchnorm backward of `variant` after the GPU forward, against the reference (with the fused ReLU: relu_backward first). */
async function bnBackward(
  gpu: GpuContext,
  n: number,
  d: number,
  variant: 'graph' | 'alternative',
  relu: boolean,
): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(77 + n + (relu ? 1 : 0));
  const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], relu ? 1 : 5, relu ? 2 : 12).data));
  const gamma = f32(rng.randnTensor([d]).data);
  const beta = f32(rng.randnTensor([d], relu ? 0.3 : 1).data);
  const dout: Tensor = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
  const { out: bnOut, cache } = ref.forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
  const want = ref.backwardBatchNormalization(relu ? ref.reluBackward(dout, bnOut) : dout, cache);
  return withScope(gpu, async (scope) => {
    const [xb, gb, ob] = [upload(scope, x.data, 'x'), upload(scope, gamma, 'gamma'), blank(scope, n * d, 'out')];
    const saved = { mean: blank(scope, d, 'mean'), invStd: blank(scope, d, 'invStd'), xhat: blank(scope, n * d, 'xhat') };
    const fwd = await createBatchNormForward(scope, {
      ...{ x: xb, gamma: gb, beta: upload(scope, beta, 'beta'), out: ob, n, d, mode: 'train', saved, relu },
      ...{ runningMean: blank(scope, d, 'rm'), runningVar: blank(scope, d, 'rv') },
    });
    await runDispatches(gpu, fwd, 'selftest bn forward');
    const [dx, dgamma, dbeta] = [blank(scope, n * d, 'dx'), blank(scope, d, 'dgamma'), blank(scope, d, 'dbeta')];
    const list = await createBatchNormBackward(scope, {
      ...{ dout: upload(scope, dout.data, 'dout'), xhat: saved.xhat, invStd: saved.invStd, gamma: gb, dx, dgamma, dbeta, n, d, variant },
      ...(relu ? { reluOut: ob } : {}),
      ...(variant === 'graph' ? { x: xb, mean: saved.mean } : {}),
    });
    await runDispatches(gpu, list, `selftest bn backward ${variant}`);
    const got = { dx: await readF32(gpu, dx, n * d), dgamma: await readF32(gpu, dgamma, d), dbeta: await readF32(gpu, dbeta, d) };
    if (relu) {
      // e2e/kernels/batchnorm-relu.spec.ts: ‖gpu − ref‖ / ‖ref‖
      return [
        { what: 'out', error: normError(await readF32(gpu, ob, n * d), ref.reluForward(bnOut).out.data), tolerance: elementwiseTol },
        { what: 'dx', error: normError(got.dx, want.dx.data), tolerance: reductionTol },
        { what: 'dgamma', error: normError(got.dgamma, want.dgamma), tolerance: reductionTol },
        { what: 'dbeta', error: normError(got.dbeta, want.dbeta), tolerance: reductionTol },
      ];
    }
    const xhatMag = (i: number) => Math.abs(cache.xhat.data[i]!) + Math.abs(x.data[i]!) * cache.ivar[i % d]!;
    const [absDbeta, absDgamma] = [new Float64Array(d), new Float64Array(d)];
    for (let i = 0; i < n * d; i++) {
      absDbeta[i % d] += Math.abs(dout.data[i]!);
      absDgamma[i % d] += Math.abs(dout.data[i]!) * xhatMag(i);
    }
    const dxMag = (i: number) =>
      ((Math.abs(gamma[i % d]!) * cache.ivar[i % d]!) / n) *
      (n * Math.abs(dout.data[i]!) + absDbeta[i % d]! + xhatMag(i) * absDgamma[i % d]!);
    return [
      { what: 'dx', error: boundedError(got.dx, want.dx.data, dxMag), tolerance: reductionTol },
      { what: 'dgamma', error: boundedError(got.dgamma, want.dgamma, (j) => absDgamma[j]!), tolerance: reductionTol },
      { what: 'dbeta', error: boundedError(got.dbeta, want.dbeta, (j) => absDbeta[j]!), tolerance: reductionTol },
    ];
  });
}

/** Layer norm forward then backward (reading the GPU forward's xhat and invStd) with `reduction` (and a forced subgroup width), at n x d. */
async function layerNorm(
  gpu: GpuContext,
  n: number,
  d: number,
  reduction: 'subgroups' | 'workgroup',
  subgroupWidth?: number,
): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(1607 + n);
  const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
  const gamma = f32(rng.randnTensor([d]).data);
  const beta = f32(rng.randnTensor([d]).data);
  const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
  const want = ref.forwardLayerNormalization(x, gamma, beta, {});
  const { cache } = want;
  const grads = ref.backwardLayerNormalization(dout, cache);
  const row = (k: number) => Math.floor(k / d);
  const xhatMag = (k: number) => Math.abs(cache.xhat.data[k]!) + Math.abs(x.data[k]!) * cache.ivar[row(k)]!;
  const [absDbeta, absDgamma, rowAbs, rowAbsX] = [new Float64Array(d), new Float64Array(d), new Float64Array(n), new Float64Array(n)];
  for (let k = 0; k < n * d; k++) {
    const g = Math.abs(dout.data[k]! * gamma[k % d]!);
    absDbeta[k % d] += Math.abs(dout.data[k]!);
    absDgamma[k % d] += Math.abs(dout.data[k]!) * xhatMag(k);
    rowAbs[row(k)] += g;
    rowAbsX[row(k)] += g * xhatMag(k);
  }
  const dxMag = (k: number) =>
    (cache.ivar[row(k)]! / d) * (d * Math.abs(dout.data[k]! * gamma[k % d]!) + rowAbs[row(k)]! + xhatMag(k) * rowAbsX[row(k)]!);
  return withScope(gpu, async (scope) => {
    const gb = upload(scope, gamma, 'gamma');
    const ob = blank(scope, n * d, 'out');
    const saved = { mean: blank(scope, n, 'mean'), invStd: blank(scope, n, 'invStd'), xhat: blank(scope, n * d, 'xhat') };
    const fwd = await createLayerNormForward(scope, {
      x: upload(scope, x.data, 'x'),
      gamma: gb,
      beta: upload(scope, beta, 'beta'),
      out: ob,
      n,
      d,
      saved,
      reduction,
      subgroupWidth,
    });
    await runDispatches(gpu, fwd, `selftest ln forward ${reduction}`);
    const [dx, dgamma, dbeta] = [blank(scope, n * d, 'dx'), blank(scope, d, 'dgamma'), blank(scope, d, 'dbeta')];
    const bwd = await createLayerNormBackward(scope, {
      ...{
        dout: upload(scope, dout.data, 'dout'),
        xhat: saved.xhat,
        invStd: saved.invStd,
        gamma: gb,
        dx,
        dgamma,
        dbeta,
        n,
        d,
        reduction,
        subgroupWidth,
      },
    });
    await runDispatches(gpu, bwd, `selftest ln backward ${reduction}`);
    const outMag = (k: number) => Math.abs(gamma[k % d]!) * xhatMag(k) + Math.abs(beta[k % d]!);
    return [
      { what: 'out', error: boundedError(await readF32(gpu, ob, n * d), want.out.data, outMag), tolerance: elementwiseTol },
      { what: 'xhat', error: boundedError(await readF32(gpu, saved.xhat, n * d), cache.xhat.data, xhatMag), tolerance: elementwiseTol },
      { what: 'mean', error: relErr(await readF32(gpu, saved.mean, n), cache.mu), tolerance: reductionTol },
      { what: 'invStd', error: relErr(await readF32(gpu, saved.invStd, n), cache.ivar), tolerance: reductionTol },
      { what: 'dx', error: boundedError(await readF32(gpu, dx, n * d), grads.dx.data, dxMag), tolerance: reductionTol },
      { what: 'dgamma', error: boundedError(await readF32(gpu, dgamma, d), grads.dgamma, (j) => absDgamma[j]!), tolerance: reductionTol },
      { what: 'dbeta', error: boundedError(await readF32(gpu, dbeta, d), grads.dbeta, (j) => absDbeta[j]!), tolerance: reductionTol },
    ];
  });
}

/**
 * The normalization cases (batches of 512 rows or more are cut into row chunks), and layer norm's subgroup path left out
 * (with why) on a device without subgroups.
 *   const { cases } = makeNormCases(gpu);
 */
export function makeNormCases(gpu: GpuContext): { cases: SelfTestCase[]; skipped: string[] } {
  const chunks = (n: number) => (n >= 512 ? 'several chunks' : 'one chunk');
  const cases: SelfTestCase[] = [];
  for (const [n, d] of [
    [37, 101],
    [1031, 37],
  ] as const)
    cases.push({ kernel: 'batchnorm forward', variant: `train + test, ${chunks(n)}`, shape: `${n}x${d}`, run: (g) => bnForward(g, n, d) });
  // the GPUs' test-mode setting (8 rows a lane: ceil(N/8) workgroups in y), whatever this adapter picks
  cases.push({
    kernel: 'batchnorm forward',
    variant: 'train + test, 8 rows a lane',
    shape: '1031x37',
    run: (g) => bnForward(g, 1031, 37, 8),
  });
  for (const relu of [false, true])
    for (const variant of ['graph', 'alternative'] as const)
      for (const [n, d] of [
        [37, 101],
        [600, 3],
      ] as const)
        cases.push({
          kernel: 'batchnorm backward',
          variant: `${variant}${relu ? ' + ReLU' : ''}, ${chunks(n)}`,
          shape: `${n}x${d}`,
          run: (g) => bnBackward(g, n, d, variant, relu),
        });
  const skipped: string[] = [];
  const reductions: ('subgroups' | 'workgroup')[] = ['workgroup'];
  if (gpu.hasSubgroups && gpu.subgroupMinSize > 0) reductions.unshift('subgroups');
  else skipped.push(`layer norm subgroups: the device has no subgroups feature (hasSubgroups ${gpu.hasSubgroups})`);
  for (const reduction of reductions)
    for (const [n, d] of [
      [7, 509],
      [50, 101],
    ] as const)
      cases.push({ kernel: 'layer norm', variant: reduction, shape: `${n}x${d}`, run: (g) => layerNorm(g, n, d, reduction) });
  // NVIDIA's subgroup width, forced: one subgroup per row there, a row sum built from narrower subgroups elsewhere
  if (reductions.includes('subgroups'))
    cases.push({
      kernel: 'layer norm',
      variant: 'subgroups, 32 lanes',
      shape: '50x101',
      run: (g) => layerNorm(g, 50, 101, 'subgroups', 32),
    });
  return { cases, skipped };
}
