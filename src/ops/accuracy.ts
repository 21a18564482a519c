// Argmax accuracy on the GPU (shaders/accuracy.wgsl): counts rows whose argmax equals the label into a u32 counter.
import accuracyWgsl from '../../shaders/accuracy.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import type { OpDef } from '../graph/graph.ts';

export interface AccuracyArgs {
  /** [n, c] class scores. */
  scores: TensorRef;
  /** [n] u32 labels. */
  y: TensorRef;
  n: number;
  c: number;
  /** u32 buffer; correct[correctIndex] += #rows with argmax == y (zero it first, e.g. encoder.clearBuffer). */
  correct: TensorRef;
  correctIndex?: number;
  /** A population: scores are [n, models·c], model k's count goes to correct[correctIndex + k] (default 1). */
  models?: number;
}

/**
 * Record the count of rows of scores [n, c] whose argmax (first maximum on ties) equals y, added into correct[correctIndex].
 *   const acc = await createAccuracy(scope, { scores, y, n: 1000, c: 10, correct });
 *   encoder.clearBuffer(correct); encodeDispatches(pass, acc); // then correct[0] / 1000
 */
export async function createAccuracy(scope: GpuScope, a: AccuracyArgs): Promise<Dispatch[]> {
  const models = a.models ?? 1;
  const op = `accuracy n=${a.n} c=${a.c}${models > 1 ? ` models=${models}` : ''}`;
  const correctIndex = a.correctIndex ?? 0;
  assertCount(op, 'n', a.n);
  assertCount(op, 'c', a.c);
  assertCount(op, 'models', models);
  assertCount(op, 'correctIndex', correctIndex, 0);
  assertBuffer(op, 'scores', a.scores, a.n * models * a.c);
  assertBuffer(op, 'y', a.y, a.n);
  assertBuffer(op, 'correct', a.correct, correctIndex + models);
  const kernel = await getKernel(scope.ctx, { name: 'accuracy', source: accuracyWgsl, constants: { WG: 64 } });
  const params = scope.createUniformBuffer(kernel, 'params', { n: a.n, c: a.c, correctIndex, models }, `${op} params`);
  const [x] = gridFor(a.n, 64);
  return [createDispatch(scope, kernel, { scores: a.scores, y: a.y, correct: a.correct, params }, [x, models, 1], op)];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** Adds the number of rows of scores [n, c] whose argmax equals y into the counter (an update); per model with `models`. */
export const accuracyOp: OpDef<{ models?: number }> = {
  name: 'accuracy',
  outputs() {
    return [];
  },
  encode(scope, { inputs: [scores, y], updates: [correct] }, node) {
    const models = node.attrs.models ?? 1;
    const [n, cols] = node.inputs[0]!.shape as [number, number];
    return createAccuracy(scope, { scores: scores!, y: y!, n, c: cols / models, correct: correct!, models });
  },
};
