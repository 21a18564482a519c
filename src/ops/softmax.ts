// Softmax cross-entropy loss on the GPU (shaders/softmax.wgsl): device-resident encode and the graph op (host form: softmax-host.ts).
import softmaxWgsl from '../../shaders/softmax.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';

export interface SoftmaxLossArgs {
  /** [n, models·c] class scores (model k's in columns k·c..k·c+c-1). */
  scores: TensorRef;
  /** [n] u32 labels in 0..c-1 (an out-of-range label makes the loss NaN). */
  y: TensorRef;
  /** f32 buffer; model k's mean cross-entropy is written to loss[lossIndex + k·lossStride]. */
  loss: TensorRef;
  lossIndex?: number;
  /** [n, models·c] gradient of each model's mean loss: (softmax - onehot) / n. */
  dscores: TensorRef;
  n: number;
  c: number;
  /** A population's model count (default 1) and the distance between two models' loss slots (default 1). */
  models?: number;
  lossStride?: number;
  /**
   * A population's step: after its loss, each model whose slots k·lossStride .. (k+1)·lossStride - 1 (lossIndex 0:
   * its cross-entropy and L2 terms) hold a NaN or infinity, or sum to one, is frozen: alive[k] = 0 (u32 [models]).
   */
  alive?: TensorRef;
}

/**
 * The checks and uniform values every softmax-loss launch shares (plain, or with the affine head in front).
 *   const values = makeSoftmaxParams('softmax-loss n=50 c=10', { scores, y, loss, dscores, n: 50, c: 10 });
 *   scope.createUniformBuffer(kernel, 'params', values); // d, ldh, hModelStride 0: no head
 */
export function makeSoftmaxParams(op: string, a: SoftmaxLossArgs): Record<string, number> {
  const { models = 1, lossStride = 1 } = a;
  const lossIndex = a.lossIndex ?? 0;
  assertCount(op, 'n', a.n);
  assertCount(op, 'c', a.c);
  assertCount(op, 'models', models);
  assertCount(op, 'lossStride', lossStride);
  assertCount(op, 'lossIndex', lossIndex, 0);
  assertBuffer(op, 'scores', a.scores, a.n * models * a.c);
  assertBuffer(op, 'dscores', a.dscores, a.n * models * a.c);
  assertBuffer(op, 'y', a.y, a.n);
  assertBuffer(op, 'loss', a.loss, lossIndex + (models - 1) * lossStride + 1);
  if (a.alive) {
    if (lossIndex !== 0)
      throw new Error(`${op}: the freeze reads model k's slots from k·lossStride, so lossIndex must be 0, got ${lossIndex}`);
    assertBuffer(op, 'alive', a.alive, models);
    assertBuffer(op, 'loss', a.loss, models * lossStride);
  }
  return { n: a.n, c: a.c, lossIndex, models, lossStride, d: 0, ldh: 0, hModelStride: 0 };
}

/**
 * Record the mean softmax cross-entropy of scores [n, c] against labels y into loss[lossIndex], and dscores.
 *   const sm = await createSoftmaxLoss(scope, { scores, y, loss, dscores, n: 50, c: 10 });
 *   await runDispatches(gpu, sm);
 */
export async function createSoftmaxLoss(scope: GpuScope, a: SoftmaxLossArgs): Promise<Dispatch[]> {
  const models = a.models ?? 1;
  const op = `softmax-loss n=${a.n} c=${a.c}${models > 1 ? ` models=${models}` : ''}${a.alive ? ' +freeze' : ''}`;
  const values = makeSoftmaxParams(op, a);
  const entryPoint = a.alive ? 'main_freeze' : 'main';
  const kernel = await getKernel(scope.ctx, { name: 'softmax', source: softmaxWgsl, entryPoint, constants: { WG: 32 } });
  const params = scope.createUniformBuffer(kernel, 'params', values, `${op} params`);
  const bind = { scores: a.scores, y: a.y, dscores: a.dscores, loss: a.loss, params, ...(a.alive ? { alive: a.alive } : {}) };
  return [createDispatch(scope, kernel, bind, [models, 1, 1], op)];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** Where a softmax loss writes: slot lossIndex + k·lossStride for model k of `models`; `freeze`: updates [loss, alive], see SoftmaxLossArgs.alive. */
export type SoftmaxLossAttrs = {
  lossIndex: number;
  models?: number;
  lossStride?: number;
  freeze?: boolean;
};

/**
 * Mean softmax cross-entropy of scores [n, c] against labels y [n] into loss slot `lossIndex`; also dscores.
 * With `models` (a population), scores are [n, models·c] and model k's loss goes to slot lossIndex + k·lossStride.
 */
export const softmaxLossOp: OpDef<SoftmaxLossAttrs> = {
  name: 'softmax_loss',
  outputs([scores, y], { models = 1 }) {
    expectShape('softmax_loss', 'y', y!.shape, [scores!.shape[0]!]);
    if (scores!.shape.length !== 2 || scores!.shape[1]! % models !== 0)
      throw new Error(`softmax_loss: scores [${scores!.shape.join(',')}] do not split into ${models} models' classes`);
    return [{ name: 'dscores', shape: [...scores!.shape] }];
  },
  encode(scope, { inputs: [scores, y], outputs: [dscores], updates: [loss, alive] }, node) {
    const { lossIndex, models = 1, lossStride = 1 } = node.attrs;
    const [n, cols] = node.inputs[0]!.shape as [number, number];
    return createSoftmaxLoss(scope, {
      scores: scores!,
      y: y!,
      loss: loss!,
      lossIndex,
      dscores: dscores!,
      n,
      c: cols / models,
      models,
      lossStride,
      alive: node.attrs.freeze ? alive : undefined,
    });
  },
};
