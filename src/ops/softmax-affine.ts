// The classifier's head fused with its loss (shaders/softmax.wgsl `affine`): scores = h·W + b, the softmax loss and dscores in one launch.
import softmaxWgsl from '../../shaders/softmax.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';
import { affineGradOp, makeAffineBackward } from './affine.ts';
import { batchedAffineGradOp } from './batched-affine.ts';
import { makeSoftmaxParams, type SoftmaxLossArgs, type SoftmaxLossAttrs } from './softmax.ts';

/**
 * The most multiply-adds (n·c·d) one model's fused head may take: one workgroup computes all of them, so past this a
 * matmul (many workgroups) and the plain softmax-loss launch are faster. The seed's head (50 x 10 x 100) is 50 000.
 */
export const maxFusedHeadProducts = 1 << 19;

/**
 * Whether a head of n rows, c classes and d inputs per model runs fused (true), or why not.
 *   planHead(50, 10, 100);   // true
 *   planHead(1024, 10, 1024); // 'n·c·d = 10485760 multiply-adds ...'
 */
export function planHead(n: number, c: number, d: number): true | string {
  const products = n * c * d;
  return products <= maxFusedHeadProducts
    ? true
    : `n·c·d = ${products} multiply-adds per model exceed the fused head's ${maxFusedHeadProducts} (one workgroup)`;
}

export interface AffineSoftmaxLossArgs extends SoftmaxLossArgs {
  /** [n, models·d] model k's inputs in columns k·d.. (or [n, d] read by every model: `shared`). */
  h: TensorRef;
  /** [models, d, c] (one model: [d, c]). */
  w: TensorRef;
  /** [models·c]. */
  b: TensorRef;
  d: number;
  shared?: boolean;
  /** Invocations of the one workgroup per model (default 64 on CPU adapters, 256 on GPUs). */
  workgroupSize?: number;
}

/**
 * Record scores = h·W + b (per model), then the mean softmax cross-entropy against y and dscores, one workgroup per model.
 *   const head = await createAffineSoftmaxLoss(scope, { h, w, b, scores, y, loss, dscores, n: 50, c: 10, d: 100 });
 *   await runDispatches(gpu, head);
 */
export async function createAffineSoftmaxLoss(scope: GpuScope, a: AffineSoftmaxLossArgs): Promise<Dispatch[]> {
  const models = a.models ?? 1;
  const wg = a.workgroupSize ?? (isCpuAdapter(scope.ctx.adapter) ? 64 : 256);
  const op = `affine+softmax-loss n=${a.n} c=${a.c} d=${a.d}${models > 1 ? ` models=${models}` : ''}${a.alive ? ' +freeze' : ''}`;
  const values = makeSoftmaxParams(op, a);
  assertCount(op, 'd', a.d);
  assertCount(op, 'workgroupSize', wg);
  if (wg > scope.ctx.device.limits.maxComputeInvocationsPerWorkgroup)
    throw new Error(`${op}: workgroupSize ${wg} exceeds the device's ${scope.ctx.device.limits.maxComputeInvocationsPerWorkgroup}`);
  const ldh = a.shared ? a.d : models * a.d;
  assertBuffer(op, 'h', a.h, a.n * ldh);
  assertBuffer(op, 'w', a.w, models * a.d * a.c);
  assertBuffer(op, 'b', a.b, models * a.c);
  const entryPoint = a.alive ? 'affine_freeze' : 'affine';
  const kernel = await getKernel(scope.ctx, { name: 'softmax', source: softmaxWgsl, entryPoint, constants: { WG: wg } });
  const params = scope.createUniformBuffer(kernel, 'params', { ...values, d: a.d, ldh, hModelStride: a.shared ? 0 : a.d }, `${op} params`);
  const bind = { h: a.h, w: a.w, b: a.b, scores: a.scores, y: a.y, dscores: a.dscores, loss: a.loss, params };
  return [createDispatch(scope, kernel, a.alive ? { ...bind, alive: a.alive } : bind, [models, 1, 1], `${op} wg=${wg}`)];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/**
 * The head and its loss: inputs [h, W, b, y], outputs [scores, dscores], updates [loss] (and alive with `freeze`).
 * W [d, c] (affine) or [models, d, c] (batched affine: h is [n, models·d], or [n, d] shared by every model). Its
 * backward is the affine's (makeAffineBackward) with dscores as the scores' gradient: the classifier seeds
 * autodiff with scores -> dscores, as after the unfused pair.
 */
export const affineSoftmaxLossOp: OpDef<SoftmaxLossAttrs> = {
  name: 'affine_softmax_loss',
  outputs([h, w, b, y], { models = 1 }) {
    const [d, c] = w!.shape.slice(-2) as [number, number];
    const n = h!.shape[0]!;
    expectShape('affine_softmax_loss', 'W', w!.shape, models > 1 || w!.shape.length === 3 ? [models, d, c] : [d, c]);
    if (h!.shape.length !== 2 || (h!.shape[1] !== d && h!.shape[1] !== models * d))
      throw new Error(`affine_softmax_loss: h has shape [${h!.shape.join(',')}], expected [*, ${models * d}] or [*, ${d}]`);
    expectShape('affine_softmax_loss', 'b', b!.shape, [models * c]);
    expectShape('affine_softmax_loss', 'y', y!.shape, [n]);
    return [
      { name: `${w!.name}·x`, shape: [n, models * c] },
      { name: 'dscores', shape: [n, models * c] },
    ];
  },
  encode(scope, { inputs: [h, w, b, y], outputs: [scores, dscores], updates: [loss, alive] }, node) {
    const { lossIndex, models = 1, lossStride = 1, freeze } = node.attrs;
    const [hv, wv] = node.inputs;
    const [d, c] = wv!.shape.slice(-2) as [number, number];
    return createAffineSoftmaxLoss(scope, {
      h: h!,
      w: w!,
      b: b!,
      y: y!,
      scores: scores!,
      dscores: dscores!,
      loss: loss!,
      lossIndex,
      n: hv!.shape[0]!,
      c,
      d,
      models,
      lossStride,
      shared: models > 1 && hv!.shape[1] === d,
      alive: freeze ? alive : undefined,
    });
  },
  backward(g, node, [dscores]) {
    const gradOp = node.inputs[1]!.shape.length === 3 ? batchedAffineGradOp : affineGradOp;
    return [...makeAffineBackward(gradOp)(g, node, [dscores!]), null];
  },
};
