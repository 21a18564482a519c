// The self-test's normalization cases: batchnorm forward (train over one and several row chunks, test mode), backward
// (graph and alternative, with the fused ReLU) and layer norm (subgroups where the device has them, workgroup memory).
import { createBatchNormBackward, createBatchNormForward, createLayerNormBackward, createLayerNormForward } from '../../src/engine.ts';
import { readF32, runDispatches, withScope, type GpuContext, type GpuScope } from '../../src/engine.ts';
import { reference as ref } from '../../src/index.ts';
import { f32, normError, relErr } from './error-measures.ts';
import { makeBatchNormCheck, makeLayerNormCheck, type NormOutputs } from './norm-checks.ts';
import type { SelfTestCase, SelfTestMeasure } from './selftest.ts';

// e2e/kernels/batchnorm.spec.ts, layernorm.spec.ts: normalisation given the statistics is elementwise (< 1e-5, relative
// to the rounded operands' magnitude, norm-checks.ts); statistics (relError) and gradients are reductions (< 1e-4).
const tolerance = (what: keyof NormOutputs) => (what === 'out' || what === 'xhat' ? 1e-5 : 1e-4);
const elementwiseTol = tolerance('out');
const reductionTol = tolerance('dx');

const upload = (scope: GpuScope, a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
const blank = (scope: GpuScope, count: number, label: string) => upload(scope, new Float32Array(count).fill(NaN), label);

/** A check's errors as the self-test's measures, each with its e2e spec's tolerance. */
function measures(errors: Partial<Record<keyof NormOutputs, number>>, prefix = ''): SelfTestMeasure[] {
  return Object.entries(errors).map(([what, error]) => ({
    what: prefix + what,
    error: error!,
    tolerance: tolerance(what as keyof NormOutputs),
  }));
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
    const train = makeBatchNormCheck(x, gamma, beta, bnParam);
    const m = measures(
      train.measure({
        out: await readF32(gpu, out, n * d),
        xhat: await readF32(gpu, saved.xhat, n * d),
        mean: await readF32(gpu, saved.mean, d),
        invStd: await readF32(gpu, saved.invStd, d),
      }),
    );
    m.push(
      { what: 'runningMean', error: relErr(await readF32(gpu, rm, d), bnParam.runningMean), tolerance: reductionTol },
      { what: 'runningVar', error: relErr(await readF32(gpu, rv, d), bnParam.runningVar), tolerance: reductionTol },
    );
    // test mode with the running statistics the train step left (the reference's, after its update)
    await runDispatches(gpu, await createBatchNormForward(scope, { ...common, mode: 'test', rowsPerLane }), 'selftest bn test');
    const test = makeBatchNormCheck(x, gamma, beta, { ...bnParam, mode: 'test' });
    return [...m, ...measures(test.measure({ out: await readF32(gpu, out, n * d) }), 'test ')];
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
  const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
  const check = makeBatchNormCheck(x, gamma, beta, { mode: 'train' }, relu ? undefined : dout);
  const { out: bnOut, cache } = check.forward;
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
    if (!relu) return measures(check.measure(got));
    // e2e/kernels/batchnorm-relu.spec.ts: ‖gpu − ref‖ / ‖ref‖
    const want = ref.backwardBatchNormalization(ref.reluBackward(dout, bnOut), cache);
    return [
      { what: 'out', error: normError(await readF32(gpu, ob, n * d), ref.reluForward(bnOut).out.data), tolerance: elementwiseTol },
      { what: 'dx', error: normError(got.dx, want.dx.data), tolerance: reductionTol },
      { what: 'dgamma', error: normError(got.dgamma, want.dgamma), tolerance: reductionTol },
      { what: 'dbeta', error: normError(got.dbeta, want.dbeta), tolerance: reductionTol },
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
  const check = makeLayerNormCheck(x, gamma, beta, dout);
  return withScope(gpu, async (scope) => {
    const gb = upload(scope, gamma, 'gamma');
    const ob = blank(scope, n * d, 'out');
    const saved = { mean: blank(scope, n, 'mean'), invStd: blank(scope, n, 'invStd'), xhat: blank(scope, n * d, 'xhat') };
    const fwd = await createLayerNormForward(scope, {
      ...{ x: upload(scope, x.data, 'x'), gamma: gb, beta: upload(scope, beta, 'beta'), out: ob, n, d, saved, reduction, subgroupWidth },
    });
    await runDispatches(gpu, fwd, `selftest ln forward ${reduction}`);
    const [dx, dgamma, dbeta] = [blank(scope, n * d, 'dx'), blank(scope, d, 'dgamma'), blank(scope, d, 'dbeta')];
    const bwd = await createLayerNormBackward(scope, {
      ...{ dout: upload(scope, dout.data, 'dout'), xhat: saved.xhat, invStd: saved.invStd, gamma: gb, dx, dgamma, dbeta, n, d },
      ...{ reduction, subgroupWidth },
    });
    await runDispatches(gpu, bwd, `selftest ln backward ${reduction}`);
    return measures(
      check.measure({
        out: await readF32(gpu, ob, n * d),
        xhat: await readF32(gpu, saved.xhat, n * d),
        mean: await readF32(gpu, saved.mean, n),
        invStd: await readF32(gpu, saved.invStd, n),
        dx: await readF32(gpu, dx, n * d),
        dgamma: await readF32(gpu, dgamma, d),
        dbeta: await readF32(gpu, dbeta, d),
      }),
    );
  });
}

/**
 * The normalization cases (batches of 512 rows or more are cut into row chunks), and layer norm's subgroup path left out
 * (with why) on a device without subgroups.
 *   const { cases, skipped } = makeNormCases(gpu);
 *   await cases[0].run(gpu); // [{ what: 'out', error: 7e-7, tolerance: 1e-5 }, ...]
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
