// A population's affine layer: M models' out_k = x_k·W_k + b_k side by side, each a column block of one [n, M·H] matrix (batched matmul + column sums).
import type { Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { createColumnSum, makeAffineBackward, makeAffineGradOutputs } from './affine.ts';
import { createMatmul } from './matmul.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';

/** Sizes of a batched affine layer: rows n, models M, inputs K and outputs H per model; `shared`: one x [n, K] for all. */
export interface BatchedAffineShape {
  n: number;
  models: number;
  k: number;
  h: number;
  shared: boolean;
}

/**
 * Record out [n, M·H] = [x_1·W_1 + b_1 | … | x_M·W_M + b_M], W [M, K, H], b [M·H]; x is [n, M·K] (model k's
 * block of columns), or [n, K] read by every model (`shared`: the input rows). One batched matmul, bias fused.
 *   const fwd = await createBatchedAffineForward(scope, { x, w, b, out }, { n: 50, models: 40, k: 3072, h: 50, shared: true });
 *   await runDispatches(gpu, fwd);
 */
export async function createBatchedAffineForward(
  scope: GpuScope,
  a: { x: TensorRef; w: TensorRef; b: TensorRef; out: TensorRef },
  s: BatchedAffineShape,
): Promise<Dispatch[]> {
  const { n, models: M, k, h } = s;
  return createMatmul(scope, {
    a: a.x,
    b: a.w,
    c: a.out,
    bias: a.b,
    m: n,
    n: h,
    k,
    lda: s.shared ? k : M * k,
    ldc: M * h,
    batch: { count: M, a: s.shared ? 0 : k, b: k * h, c: h, bias: h },
  });
}

/**
 * Record the batched affine backward: dx_k = dout_k·W_kᵀ (blocks of dx [n, M·K]; skipped without dx), dW_k = x_kᵀ·dout_k,
 * db = Σ_rows dout (the column sums of [n, M·H] are every model's bias gradient at once).
 *   const bwd = await createBatchedAffineBackward(scope, { x, w, dout, dw, db }, { n: 50, models: 40, k: 3072, h: 50, shared: true });
 *   await runDispatches(gpu, bwd);
 */
export async function createBatchedAffineBackward(
  scope: GpuScope,
  a: { x: TensorRef; w: TensorRef; dout: TensorRef; dx?: TensorRef; dw: TensorRef; db: TensorRef },
  s: BatchedAffineShape,
): Promise<Dispatch[]> {
  const { n, models: M, k, h } = s;
  const list: Dispatch[] = [];
  if (a.dx) {
    if (s.shared) throw new Error('batched affine: a shared input has no per-model gradient (the models read the same rows)');
    list.push(
      ...(await createMatmul(scope, {
        a: a.dout,
        b: a.w,
        c: a.dx,
        m: n,
        n: k,
        k: h,
        transB: true,
        lda: M * h,
        ldc: M * k,
        batch: { count: M, a: h, b: k * h, c: k },
      })),
    );
  }
  list.push(
    ...(await createMatmul(scope, {
      a: a.x,
      b: a.dout,
      c: a.dw,
      m: k,
      n: h,
      k: n,
      transA: true,
      lda: s.shared ? k : M * k,
      ldb: M * h,
      batch: { count: M, a: s.shared ? 0 : k, b: h, c: k * h },
    })),
  );
  list.push(await createColumnSum(scope, { x: a.dout, y: a.db, rows: n, cols: M * h }));
  return list;
}

/** The shape of a batched affine node from its inputs x, W [M, K, H]. */
function shapeOf(x: { shape: number[] }, w: { shape: number[] }): BatchedAffineShape {
  const [M, k, h] = w.shape as [number, number, number];
  // one model: its own rows either way (x [n, K] = [n, 1·K])
  return { n: x.shape[0]!, models: M, k, h, shared: M > 1 && x.shape[1] === k };
}

// The graph ops: shape rule, encode and backward rule, beside the kernel wrappers they use.

/** out [n, M·H] = every model's x_k·W_k + b_k; x [n, K] (shared rows) or [n, M·K], W [M, K, H], b [M·H]. */
export const batchedAffineOp: OpDef = {
  name: 'batched_affine',
  outputs([x, w, b]) {
    if (w!.shape.length !== 3) throw new Error(`batched_affine: W has shape [${w!.shape.join(',')}], expected [models, in, out]`);
    const [M, k, h] = w!.shape as [number, number, number];
    if (x!.shape.length !== 2 || (x!.shape[1] !== k && x!.shape[1] !== M * k)) {
      throw new Error(
        `batched_affine: x has shape [${x!.shape.join(',')}], expected [*, ${k}] (shared) or [*, ${M * k}] (${M} models x ${k})`,
      );
    }
    expectShape('batched_affine', 'b', b!.shape, [M * h]);
    return [{ name: `${w!.name}·x`, shape: [x!.shape[0]!, M * h] }];
  },
  encode(scope, { inputs: [x, w, b], outputs: [out] }, node) {
    return createBatchedAffineForward(scope, { x: x!, w: w!, b: b!, out: out! }, shapeOf(node.inputs[0]!, node.inputs[1]!));
  },
  backward: (g, node, douts) => makeAffineBackward(batchedAffineGradOp)(g, node, douts),
};

/** [dx?, dW, db] of a batched affine node from x, W and dout (dx only when x needs a gradient). */
export const batchedAffineGradOp: OpDef<{ withDx: boolean }> = {
  name: 'batched_affine_grad',
  outputs([x, w], { withDx }) {
    const [M, , h] = w!.shape as [number, number, number];
    return makeAffineGradOutputs(x!, w!, M * h, withDx);
  },
  encode(scope, { inputs: [x, w, dout], outputs }, node) {
    const [dx, dw, db] = node.attrs.withDx ? outputs : [undefined, ...outputs];
    return createBatchedAffineBackward(
      scope,
      { x: x!, w: w!, dout: dout!, dx, dw: dw!, db: db! },
      shapeOf(node.inputs[0]!, node.inputs[1]!),
    );
  },
};
