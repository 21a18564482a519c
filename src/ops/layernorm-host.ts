// cs231n's layer norm functions on the GPU from host arrays (notebook-style): forward with lnParam, the closed-form backward.
import { readF32, toF32 } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import type { BatchNormGradients } from './batchnorm-host.ts';
import { createLayerNormBackward, createLayerNormForward, type RowReduction } from './layernorm.ts';
import { hostShape, withScope, type F32Tensor, type HostTensor } from './host.ts';

/** cs231n's `ln_param`: eps (1e-5) only; `reduction` picks the kernel path (default: subgroups where available). */
export interface GpuLnParam {
  eps?: number;
  reduction?: RowReduction;
}

/** What `forwardLayerNormalization` keeps for backward, read back from the GPU (float32). */
export interface GpuLayerNormCache {
  n: number;
  d: number;
  eps: number;
  reduction?: RowReduction;
  gamma: Float32Array;
  /** Per-row mean and 1 / sqrt(var + eps), [n]. */
  mean: Float32Array;
  invStd: Float32Array;
  /** (x - mean) * invStd, [n, d]. */
  xhat: Float32Array;
}

const lnParamKeys = new Set(['eps', 'reduction']);

/**
 * cs231n's `layernorm_forward(x, gamma, beta, ln_param)` on the GPU.
 *   const { out, cache } = await forwardLayerNormalization(gpu, { data: x, shape: [4, 5] }, gamma, beta, { eps: 1e-5 });
 *   const { dx } = await backwardLayerNormalization(gpu, dout, cache);
 */
export async function forwardLayerNormalization(
  gpu: GpuContext,
  x: HostTensor,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  lnParam: GpuLnParam = {},
): Promise<{ out: F32Tensor; cache: GpuLayerNormCache }> {
  const fn = 'forwardLayerNormalization';
  const [n, d] = hostShape(fn, 'x', x, 'matrix') as [number, number];
  for (const key of Object.keys(lnParam)) {
    if (!lnParamKeys.has(key))
      throw new Error(`${fn}: unknown lnParam key "${key}" (expected eps, reduction; layer norm has no mode and no running statistics)`);
  }
  for (const [name, v] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (v.length !== d) throw new Error(`${fn}: ${name} has shape [${v.length}], expected [${d}]`);
  }
  const eps = lnParam.eps ?? 1e-5;
  return withScope(gpu, async (scope) => {
    const t = (data: ArrayLike<number>, label: string) => scope.createTensorBuffer(toF32(data), label);
    const out = scope.createTensorBuffer(n * d * 4, 'out');
    const saved = {
      mean: scope.createTensorBuffer(n * 4, 'mean'),
      invStd: scope.createTensorBuffer(n * 4, 'invStd'),
      xhat: scope.createTensorBuffer(n * d * 4, 'xhat'),
    };
    const list = await createLayerNormForward(scope, {
      x: t(x.data, 'x'),
      gamma: t(gamma, 'gamma'),
      beta: t(beta, 'beta'),
      out,
      n,
      d,
      eps,
      saved,
      reduction: lnParam.reduction,
    });
    await runDispatches(gpu, list, fn);
    const cache: GpuLayerNormCache = {
      n,
      d,
      eps,
      reduction: lnParam.reduction,
      gamma: Float32Array.from(gamma),
      mean: await readF32(gpu, saved.mean, n),
      invStd: await readF32(gpu, saved.invStd, n),
      xhat: await readF32(gpu, saved.xhat, n * d),
    };
    return { out: { data: await readF32(gpu, out, n * d), shape: [n, d] }, cache };
  });
}

/**
 * cs231n's `layernorm_backward(dout, cache)` on the GPU: dx in closed form per row, dgamma and dbeta as column sums.
 *   const { cache } = await forwardLayerNormalization(gpu, x, gamma, beta);
 *   const { dx, dgamma, dbeta } = await backwardLayerNormalization(gpu, dout, cache);
 */
export async function backwardLayerNormalization(gpu: GpuContext, dout: HostTensor, cache: GpuLayerNormCache): Promise<BatchNormGradients> {
  const fn = 'backwardLayerNormalization';
  const [n, d] = hostShape(fn, 'dout', dout, 'matrix') as [number, number];
  if (n !== cache.n || d !== cache.d) throw new Error(`${fn}: dout has shape [${n},${d}], expected [${cache.n},${cache.d}]`);
  return withScope(gpu, async (scope) => {
    const t = (data: ArrayLike<number>, label: string) => scope.createTensorBuffer(toF32(data), label);
    const dx = scope.createTensorBuffer(n * d * 4, 'dx');
    const dgamma = scope.createTensorBuffer(d * 4, 'dgamma');
    const dbeta = scope.createTensorBuffer(d * 4, 'dbeta');
    const list = await createLayerNormBackward(scope, {
      dout: t(dout.data, 'dout'),
      xhat: t(cache.xhat, 'xhat'),
      invStd: t(cache.invStd, 'invStd'),
      gamma: t(cache.gamma, 'gamma'),
      dx,
      dgamma,
      dbeta,
      n,
      d,
      reduction: cache.reduction,
    });
    await runDispatches(gpu, list, fn);
    return {
      dx: { data: await readF32(gpu, dx, n * d), shape: [n, d] },
      dgamma: await readF32(gpu, dgamma, d),
      dbeta: await readF32(gpu, dbeta, d),
    };
  });
}
