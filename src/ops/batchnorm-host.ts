// The seed's batchnorm functions on the GPU from host arrays (notebook-style): forward with bnParam, both backwards.
import { readF32, toF32, type GpuScope } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { createBatchNormForward } from './batchnorm-forward.ts';
import { createBatchNormBackward } from './batchnorm-backward.ts';
import { hostShape, withScope, type F32Tensor, type HostTensor } from './host.ts';

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
  return withScope(gpu, async (scope) => {
    const t = (data: ArrayLike<number>, label: string) => scope.createTensorBuffer(toF32(data), label);
    const [xb, gb, bb, rm, rv] = [
      t(x.data, 'x'),
      t(gamma, 'gamma'),
      t(beta, 'beta'),
      t(runningMean, 'runningMean'),
      t(runningVar, 'runningVar'),
    ];
    const out = scope.createTensorBuffer(n * d * 4, 'out');
    const saved =
      mode === 'train'
        ? {
            mean: scope.createTensorBuffer(d * 4, 'mean'),
            invStd: scope.createTensorBuffer(d * 4, 'invStd'),
            xhat: scope.createTensorBuffer(n * d * 4, 'xhat'),
          }
        : undefined;
    const list = await createBatchNormForward(scope, {
      x: xb,
      gamma: gb,
      beta: bb,
      out,
      runningMean: rm,
      runningVar: rv,
      n,
      d,
      mode,
      eps,
      momentum: bnParam.momentum,
      saved,
    });
    await runDispatches(gpu, list, fn);
    const cache: GpuBatchNormCache = {
      mode,
      n,
      d,
      eps,
      x: Float32Array.from(x.data),
      gamma: Float32Array.from(gamma),
      mean: new Float32Array(0),
      invStd: new Float32Array(0),
      xhat: new Float32Array(0),
    };
    if (saved) {
      runningMean.set(await readF32(gpu, rm, d));
      runningVar.set(await readF32(gpu, rv, d));
      cache.mean = await readF32(gpu, saved.mean, d);
      cache.invStd = await readF32(gpu, saved.invStd, d);
      cache.xhat = await readF32(gpu, saved.xhat, n * d);
    }
    return { out: { data: await readF32(gpu, out, n * d), shape: [n, d] }, cache };
  });
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
  return withScope(gpu, async (scope: GpuScope) => {
    const t = (data: ArrayLike<number>, label: string) => scope.createTensorBuffer(toF32(data), label);
    const dx = scope.createTensorBuffer(n * d * 4, 'dx');
    const dgamma = scope.createTensorBuffer(d * 4, 'dgamma');
    const dbeta = scope.createTensorBuffer(d * 4, 'dbeta');
    const list = await createBatchNormBackward(scope, {
      dout: t(dout.data, 'dout'),
      xhat: t(cache.xhat, 'xhat'),
      invStd: t(cache.invStd, 'invStd'),
      gamma: t(cache.gamma, 'gamma'),
      dx,
      dgamma,
      dbeta,
      n,
      d,
      variant,
      ...(variant === 'graph' ? { x: t(cache.x, 'x'), mean: t(cache.mean, 'mean') } : {}),
    });
    await runDispatches(gpu, list, fn);
    return {
      dx: { data: await readF32(gpu, dx, n * d), shape: [n, d] },
      dgamma: await readF32(gpu, dgamma, d),
      dbeta: await readF32(gpu, dbeta, d),
    };
  });
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
