// L2 regularization on the GPU (shaders/regularization.wgsl): dw += reg·w and the loss term 0.5·reg·Σw².
import regularizationWgsl from '../../shaders/regularization.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';

export interface L2RegularizationArgs {
  /** The weights, `count` f32 (per model: a population's models stack theirs, model k from k·count on). */
  w: TensorRef;
  /** Their gradient, updated in place: dw += reg·w. */
  dw: TensorRef;
  count: number;
  /** Regularization strength (skipping the op when it is 0 is the caller's choice); one per model for a population. */
  reg: number | readonly number[];
  /** f32 buffer; loss[lossIndex] = 0.5·reg·Σw² (written, not added); model k's at lossIndex + k·lossStride. */
  loss: TensorRef;
  lossIndex: number;
  lossStride?: number;
}

/** Workgroup size of both passes, and the most workgroups `apply` takes (one partial sum per invocation). */
const wg = 64;
const maxApplyWorkgroups = 64;
/** About how many quads of elements each `apply` invocation takes. */
const quadsPerInvocation = 8;

/**
 * Record L2 regularization of one weight tensor: dw += reg·w, loss[lossIndex] = 0.5·reg·Σw² (two dispatches).
 *   const l2 = await createL2Regularization(scope, { w: W1, dw: dW1, count: 3072 * 100, reg: 0.1, loss, lossIndex: 1 });
 *   await runDispatches(gpu, [...backward, ...l2]);
 */
export async function createL2Regularization(scope: GpuScope, a: L2RegularizationArgs): Promise<Dispatch[]> {
  const regs = typeof a.reg === 'number' ? [a.reg] : [...a.reg];
  const models = regs.length;
  const lossStride = a.lossStride ?? 1;
  const op = `l2-regularization count=${a.count}${models > 1 ? ` models=${models}` : ''}`;
  assertCount(op, 'count', a.count);
  assertCount(op, 'models', models);
  assertCount(op, 'lossIndex', a.lossIndex, 0);
  assertCount(op, 'lossStride', lossStride);
  regs.forEach((r, k) => {
    if (!Number.isFinite(r)) throw new Error(`${op}: reg${models > 1 ? `[${k}]` : ''} must be a finite number, got ${r}`);
  });
  assertBuffer(op, 'w', a.w, a.count * models);
  assertBuffer(op, 'dw', a.dw, a.count * models);
  assertBuffer(op, 'loss', a.loss, a.lossIndex + (models - 1) * lossStride + 1);
  const [apply, finish] = await Promise.all([
    getKernel(scope.ctx, { name: 'regularization', source: regularizationWgsl, entryPoint: 'apply', constants: { WG: wg } }),
    getKernel(scope.ctx, { name: 'regularization', source: regularizationWgsl, entryPoint: 'finish', constants: { WG: wg } }),
  ]);
  const workgroups = Math.min(maxApplyWorkgroups, Math.ceil(a.count / 4 / (wg * quadsPerInvocation)));
  const partials = workgroups * wg;
  const params = scope.createUniformBuffer(
    apply,
    'params',
    { count: a.count, lossIndex: a.lossIndex, lossStride, partials },
    `${op} params`,
  );
  const partial = scope.createTensorBuffer(partials * models * 4, `${op} partial sums`);
  const regBuf = scope.createTensorBuffer(Float32Array.from(regs), `${op} strengths`);
  return [
    createDispatch(scope, apply, { w: a.w, dw: a.dw, partial, params, regs: regBuf }, [workgroups, models, 1], `${op} apply`),
    createDispatch(scope, finish, { partial, loss: a.loss, params, regs: regBuf }, [models, 1, 1], `${op} finish`),
  ];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** dW += reg·W and loss[lossIndex] = 0.5·reg·ΣW², in place on [dW, loss]; per model (one reg each, slots lossStride apart) for a population. */
export const l2Op: OpDef<{ reg: number | readonly number[]; lossIndex: number; lossStride?: number }> = {
  name: 'l2_regularization',
  outputs() {
    return [];
  },
  encode(scope, { inputs: [w], updates: [dw, loss] }, node) {
    const { reg, lossIndex, lossStride } = node.attrs;
    const models = typeof reg === 'number' ? 1 : reg.length;
    return createL2Regularization(scope, {
      w: w!,
      dw: dw!,
      count: sizeOf(node.inputs[0]!.shape) / models,
      reg,
      loss: loss!,
      lossIndex,
      lossStride,
    });
  },
};
