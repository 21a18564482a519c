// Softmax cross-entropy loss on the GPU (shaders/softmax.wgsl): device-resident encode and the graph op (host form: softmax-host.ts).
import softmaxWgsl from '../../shaders/softmax.wgsl?raw';
import { createBindGroup, getKernel } from '../gpu/kernel.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';

export interface SoftmaxLossArgs {
  /** [n, c] class scores. */
  scores: TensorRef;
  /** [n] u32 labels in 0..c-1 (an out-of-range label makes the loss NaN). */
  y: TensorRef;
  /** f32 buffer; the mean cross-entropy is written to loss[lossIndex]. */
  loss: TensorRef;
  lossIndex?: number;
  /** [n, c] gradient of the mean loss: (softmax - onehot) / n. */
  dscores: TensorRef;
  n: number;
  c: number;
}

/**
 * Record the mean softmax cross-entropy of scores [n, c] against labels y into loss[lossIndex], and dscores.
 *   const sm = await createSoftmaxLoss(scope, { scores, y, loss, dscores, n: 50, c: 10 });
 *   await runDispatches(gpu, sm);
 */
export async function createSoftmaxLoss(scope: GpuScope, a: SoftmaxLossArgs): Promise<Dispatch[]> {
  const op = `softmax-loss n=${a.n} c=${a.c}`;
  const lossIndex = a.lossIndex ?? 0;
  assertCount(op, 'n', a.n);
  assertCount(op, 'c', a.c);
  assertCount(op, 'lossIndex', lossIndex, 0);
  assertBuffer(op, 'scores', a.scores, a.n * a.c);
  assertBuffer(op, 'dscores', a.dscores, a.n * a.c);
  assertBuffer(op, 'y', a.y, a.n);
  assertBuffer(op, 'loss', a.loss, lossIndex + 1);
  const kernel = await getKernel(scope.ctx, { name: 'softmax', source: softmaxWgsl, constants: { WG: 32 } });
  const params = scope.createUniformBuffer(kernel, 'params', { n: a.n, c: a.c, lossIndex }, `${op} params`);
  return [{
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { scores: a.scores, y: a.y, dscores: a.dscores, loss: a.loss, params }),
    workgroups: [1, 1, 1],
    label: op,
  }];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** Mean softmax cross-entropy of scores [n, c] against labels y [n] into loss slot `lossIndex`; also dscores. */
export const softmaxLossOp: OpDef<{ lossIndex: number }> = {
  name: 'softmax_loss',
  outputs([scores, y]) {
    expectShape('softmax_loss', 'y', y!.shape, [scores!.shape[0]!]);
    return [{ name: 'dscores', shape: [...scores!.shape] }];
  },
  encode(scope, { inputs: [scores, y], outputs: [dscores], updates: [loss] }, node) {
    const [n, c] = node.inputs[0]!.shape as [number, number];
    return createSoftmaxLoss(scope, { scores: scores!, y: y!, loss: loss!, lossIndex: node.attrs.lossIndex, dscores: dscores!, n, c });
  },
};
