// The seed's batchnorm functions on the GPU from host arrays (notebook-style): forward with bnParam, both backwards.
import type { GpuContext } from '../gpu/device.ts';
import { batchNormGradOp, batchNormOp } from './batchnorm.ts';
import { hostShape, runHostOp, type F32Tensor, type HostTensor } from './host.ts';

/** The seed's `bn_param`: mode, eps (1e-5), momentum (0.9), running statistics updated in place in train mode. */
export interface GpuBnParam {
  mode: 'train' | 'test';
  eps?: number;
  momentum?: number;
  runningMean?: Float32Array | Float64Array;
  runningVar?: Float32Array | Float64Array;
}

/** What `forwardBatchNormalization` keeps for backward, read back from the GPU (float32). */
export interface GpuBatchNormCache {
  mode: 'train' | 'test';
  n: number;
  d: number;
  eps: number;
  x: Float32Array;
  gamma: Float32Array;
  /** Batch mean and 1 / sqrt(var + eps) per feature (train mode). */
  mean: Float32Array;
  invStd: Float32Array;
  /** (x - mean) * invStd, [n, d] (train mode). */
  xhat: Float32Array;
}

/** Gradients of batchnorm with respect to x [n, d], gamma [d] and beta [d]. */
export interface BatchNormGradients {
  dx: F32Tensor;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

const bnParamKeys = new Set(['mode', 'eps', 'momentum', 'runningMean', 'runningVar']);

/**
 * The seed's `forward_batch_normalization(x, gamma, beta, bn_param)` on the GPU; running statistics
 * are created as zeros when missing and written back into `bnParam` (train mode), like the reference.
 *   const bnParam = { mode: 'train' as const };
 *   const { out, cache } = await forwardBatchNormalization(gpu, { data: x, shape: [200, 3] }, [1, 1, 1], [0, 0, 0], bnParam);
 */
export async function forwardBatchNormalization(
  gpu: GpuContext,
  x: HostTensor,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  bnParam: GpuBnParam,
): Promise<{ out: F32Tensor; cache: GpuBatchNormCache }> {
  const fn = 'forwardBatchNormalization';
  const [n, d] = hostShape(fn, 'x', x, 'matrix') as [number, number];
  for (const key of Object.keys(bnParam))
    if (!bnParamKeys.has(key)) throw new Error(`${fn}: unknown bnParam key "${key}" (expected ${[...bnParamKeys].join(', ')})`);
  if (bnParam.mode !== 'train' && bnParam.mode !== 'test')
    throw new Error(`${fn}: bnParam.mode must be "train" or "test", got ${JSON.stringify(bnParam.mode)}`);
  const checkLength = (name: string, v: ArrayLike<number>) => {
    if (v.length !== d) throw new Error(`${fn}: ${name} has shape [${v.length}], expected [${d}]`);
  };
  checkLength('gamma', gamma);
  checkLength('beta', beta);
  const runningMean = (bnParam.runningMean ??= new Float64Array(d));
  const runningVar = (bnParam.runningVar ??= new Float64Array(d));
  checkLength('bnParam.runningMean', runningMean);
  checkLength('bnParam.runningVar', runningVar);
  const eps = bnParam.eps ?? 1e-5;
  const mode = bnParam.mode;
  const { outputs, updates } = await runHostOp(
    gpu,
    batchNormOp,
    [
      { name: 'x', data: x.data, shape: [n, d] },
      { name: 'gamma', data: gamma, shape: [d] },
      { name: 'beta', data: beta, shape: [d] },
    ],
    { mode, eps, momentum: bnParam.momentum ?? 0.9, variant: 'graph' },
    {
      updates: [
        { name: 'runningMean', data: runningMean, shape: [d] },
        { name: 'runningVar', data: runningVar, shape: [d] },
      ],
    },
  );
  const [out, mean, invStd, xhat] = outputs;
  const cache: GpuBatchNormCache = {
    mode,
    n,
    d,
    eps,
    x: Float32Array.from(x.data),
    gamma: Float32Array.from(gamma),
    mean: mean?.data ?? new Float32Array(0),
    invStd: invStd?.data ?? new Float32Array(0),
    xhat: xhat?.data ?? new Float32Array(0),
  };
  if (mode === 'train') {
    runningMean.set(updates[0]!);
    runningVar.set(updates[1]!);
  }
  return { out: out!, cache };
}

async function backward(
  gpu: GpuContext,
  fn: string,
  variant: 'graph' | 'alternative',
  dout: HostTensor,
  cache: GpuBatchNormCache,
): Promise<BatchNormGradients> {
  if (cache.mode !== 'train') throw new Error(`${fn}: the cache comes from a test-mode forward; backward is defined for train mode only`);
  const [n, d] = hostShape(fn, 'dout', dout, 'matrix') as [number, number];
  if (n !== cache.n || d !== cache.d) throw new Error(`${fn}: dout has shape [${n},${d}], expected [${cache.n},${cache.d}]`);
  const { outputs } = await runHostOp(
    gpu,
    batchNormGradOp,
    [
      { name: 'dout', data: dout.data, shape: [n, d] },
      { name: 'xhat', data: cache.xhat, shape: [n, d] },
      { name: 'invStd', data: cache.invStd, shape: [d] },
      { name: 'gamma', data: cache.gamma, shape: [d] },
      { name: 'x', data: cache.x, shape: [n, d] },
      { name: 'mean', data: cache.mean, shape: [d] },
    ],
    { variant },
  );
  const [dx, dgamma, dbeta] = outputs as [F32Tensor, F32Tensor, F32Tensor];
  return { dx, dgamma: dgamma.data, dbeta: dbeta.data };
}

/**
 * The seed's `backward_batch_normalization(dout, cache)` on the GPU: the staged computational graph.
 *   const { cache } = await forwardBatchNormalization(gpu, x, gamma, beta, { mode: 'train' });
 *   const { dx, dgamma, dbeta } = await backwardBatchNormalization(gpu, dout, cache);
 */
export function backwardBatchNormalization(gpu: GpuContext, dout: HostTensor, cache: GpuBatchNormCache): Promise<BatchNormGradients> {
  return backward(gpu, 'backwardBatchNormalization', 'graph', dout, cache);
}

/**
 * The seed's `backward_batch_normalization_alternative(dout, cache)` on the GPU: the closed form.
 *   const { cache } = await forwardBatchNormalization(gpu, x, gamma, beta, { mode: 'train' });
 *   const { dx } = await backwardBatchNormalizationAlternative(gpu, dout, cache);
 */
export function backwardBatchNormalizationAlternative(
  gpu: GpuContext,
  dout: HostTensor,
  cache: GpuBatchNormCache,
): Promise<BatchNormGradients> {
  return backward(gpu, 'backwardBatchNormalizationAlternative', 'alternative', dout, cache);
}
