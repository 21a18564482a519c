// L2 regularization on the GPU (shaders/regularization.wgsl): dw += reg·w and the loss term 0.5·reg·Σw².
import regularizationWgsl from '../../shaders/regularization.wgsl?raw';
import { createBindGroup, getKernel } from '../gpu/kernel.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';

export interface L2RegularizationArgs {
  /** The weights, `count` f32. */
  w: TensorRef;
  /** Their gradient, updated in place: dw += reg·w. */
  dw: TensorRef;
  count: number;
  /** Regularization strength (a uniform: skipping the op when it is 0 is the caller's choice). */
  reg: number;
  /** f32 buffer; loss[lossIndex] = 0.5·reg·Σw² (written, not added). */
  loss: TensorRef;
  lossIndex: number;
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
  const op = `l2-regularization count=${a.count}`;
  assertCount(op, 'count', a.count);
  assertCount(op, 'lossIndex', a.lossIndex, 0);
  if (!Number.isFinite(a.reg)) throw new Error(`${op}: reg must be a finite number, got ${a.reg}`);
  assertBuffer(op, 'w', a.w, a.count);
  assertBuffer(op, 'dw', a.dw, a.count);
  assertBuffer(op, 'loss', a.loss, a.lossIndex + 1);
  const [apply, finish] = await Promise.all([
    getKernel(scope.ctx, { name: 'regularization', source: regularizationWgsl, entryPoint: 'apply', constants: { WG: wg } }),
    getKernel(scope.ctx, { name: 'regularization', source: regularizationWgsl, entryPoint: 'finish', constants: { WG: wg } }),
  ]);
  const workgroups = Math.min(maxApplyWorkgroups, Math.ceil(a.count / 4 / (wg * quadsPerInvocation)));
  const partials = workgroups * wg;
  const params = scope.createUniformBuffer(apply, 'params', { count: a.count, reg: a.reg, lossIndex: a.lossIndex, partials }, `${op} params`);
  const partial = scope.createTensorBuffer(partials * 4, `${op} partial sums`);
  return [
    { kernel: apply, bindGroup: createBindGroup(scope.ctx, apply, { w: a.w, dw: a.dw, partial, params }), workgroups: [workgroups, 1, 1], label: `${op} apply` },
    { kernel: finish, bindGroup: createBindGroup(scope.ctx, finish, { partial, loss: a.loss, params }), workgroups: [1, 1, 1], label: `${op} finish` },
  ];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** dW += reg·W and loss[lossIndex] = 0.5·reg·ΣW², in place on [dW, loss]. */
export const l2Op: OpDef<{ reg: number; lossIndex: number }> = {
  name: 'l2_regularization',
  outputs() { return []; },
  encode(scope, { inputs: [w], updates: [dw, loss] }, node) {
    return createL2Regularization(scope, { w: w!, dw: dw!, count: sizeOf(node.inputs[0]!.shape), reg: node.attrs.reg, loss: loss!, lossIndex: node.attrs.lossIndex });
  },
};
