// cs231n's layer norm functions on the GPU from host arrays (notebook-style): forward with lnParam, the closed-form backward.
import type { GpuContext } from '../gpu/device.ts';
import type { BatchNormGradients } from './batchnorm-host.ts';
import { layerNormGradOp, layerNormOp, type RowReduction } from './layernorm.ts';
import { hostShape, runHostOp, type F32Tensor, type HostTensor } from './host.ts';

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
  const { outputs } = await runHostOp(
    gpu,
    layerNormOp,
    [
      { name: 'x', data: x.data, shape: [n, d] },
      { name: 'gamma', data: gamma, shape: [d] },
      { name: 'beta', data: beta, shape: [d] },
    ],
    { eps, reduction: lnParam.reduction },
  );
  const [out, mean, invStd, xhat] = outputs as [F32Tensor, F32Tensor, F32Tensor, F32Tensor];
  const cache: GpuLayerNormCache = {
    n,
    d,
    eps,
    reduction: lnParam.reduction,
    gamma: Float32Array.from(gamma),
    mean: mean.data,
    invStd: invStd.data,
    xhat: xhat.data,
  };
  return { out, cache };
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
  const { outputs } = await runHostOp(
    gpu,
    layerNormGradOp,
    [
      { name: 'dout', data: dout.data, shape: [n, d] },
      { name: 'xhat', data: cache.xhat, shape: [n, d] },
      { name: 'invStd', data: cache.invStd, shape: [n] },
      { name: 'gamma', data: cache.gamma, shape: [d] },
    ],
    { reduction: cache.reduction },
  );
  const [dx, dgamma, dbeta] = outputs as [F32Tensor, F32Tensor, F32Tensor];
  return { dx, dgamma: dgamma.data, dbeta: dbeta.data };
}
