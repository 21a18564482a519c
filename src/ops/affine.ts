// Affine layer out = x·W + b: GPU encode of forward and backward (matmul + column sums) and the graph ops (host forms: affine-host.ts).
import colsumWgsl from '../../shaders/colsum.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { createMatmul } from './matmul.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { expectShape, needsGrad, sizeOf, type OpDef, type Value } from '../graph/graph.ts';

/**
 * Record y[j] = Σ_i x[i, j] for a row-major rows×cols x (the bias gradient of an affine layer).
 *   const db = await createColumnSum(scope, { x: dout, y: dbBuf, rows: 50, cols: 100 });
 *   await runDispatches(gpu, [db]);
 */
export async function createColumnSum(scope: GpuScope, a: { x: TensorRef; y: TensorRef; rows: number; cols: number }): Promise<Dispatch> {
  const op = `colsum ${a.rows}x${a.cols}`;
  assertCount(op, 'rows', a.rows);
  assertCount(op, 'cols', a.cols);
  assertBuffer(op, 'x', a.x, a.rows * a.cols);
  assertBuffer(op, 'y', a.y, a.cols);
  const kernel = await getKernel(scope.ctx, { name: 'colsum', source: colsumWgsl, constants: { WG: 64 } });
  const params = scope.createUniformBuffer(kernel, 'params', { rows: a.rows, cols: a.cols }, `${op} params`);
  return createDispatch(scope, kernel, { x: a.x, y: a.y, params }, gridFor(a.cols, 64), op);
}

/**
 * Record out (n×m) = x (n×d) · W (d×m) + b (m): one matmul with the bias fused.
 *   const fwd = await createAffineForward(scope, { x, w, b, out, n: 50, d: 3072, m: 100 });
 *   await runDispatches(gpu, fwd);
 */
export async function createAffineForward(
  scope: GpuScope,
  a: { x: TensorRef; w: TensorRef; b: TensorRef; out: TensorRef; n: number; d: number; m: number },
): Promise<Dispatch[]> {
  return createMatmul(scope, { a: a.x, b: a.w, c: a.out, bias: a.b, m: a.n, n: a.m, k: a.d });
}

/**
 * Record the affine backward: dx = dout·Wᵀ (skipped without dx, e.g. for the first layer), dW = xᵀ·dout, db = Σ_rows dout.
 *   const bwd = await createAffineBackward(scope, { x, w, dout, dx, dw, db, n: 50, d: 3072, m: 100 });
 *   await runDispatches(gpu, bwd);
 */
export async function createAffineBackward(
  scope: GpuScope,
  a: { x: TensorRef; w: TensorRef; dout: TensorRef; dx?: TensorRef; dw: TensorRef; db: TensorRef; n: number; d: number; m: number },
): Promise<Dispatch[]> {
  const { n, d, m } = a;
  const list: Dispatch[] = [];
  if (a.dx) list.push(...(await createMatmul(scope, { a: a.dout, b: a.w, c: a.dx, m: n, n: d, k: m, transB: true })));
  list.push(...(await createMatmul(scope, { a: a.x, b: a.dout, c: a.dw, m: d, n: m, k: n, transA: true })));
  list.push(await createColumnSum(scope, { x: a.dout, y: a.db, rows: n, cols: m }));
  return list;
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/**
 * The backward rule of an affine op (plain or batched): one `gradOp` node giving [dx?, dW, db], dx only when x
 * needs a gradient (gathered data does not); b's gradient shape is `dbShape` of W.
 *   const backward = makeAffineBackward(affineGradOp);
 *   const [dx, dW, db] = backward(g, node, [dout]);
 */
export function makeAffineBackward(gradOp: OpDef<{ withDx: boolean }>): NonNullable<OpDef['backward']> {
  return (g, node, [dout]) => {
    const [x, w] = node.inputs;
    const withDx = needsGrad(x!);
    const outs = g.apply(gradOp, [x!, w!, dout!], { withDx }, [], 'grad');
    return withDx ? [outs[0]!, outs[1]!, outs[2]!] : [null, outs[0]!, outs[1]!];
  };
}

/**
 * The outputs of an affine gradient node: [dx?, dW, db] named after x and W, db of `dbLength`.
 *   makeAffineGradOutputs(x, w, w.shape[1], true); // [{ name: 'd(x)', ... }, { name: 'dW1', ... }, { name: 'db(W1)', ... }]
 */
export function makeAffineGradOutputs(x: Value, w: Value, dbLength: number, withDx: boolean): { name: string; shape: number[] }[] {
  const dims = [
    { name: `d${w.name}`, shape: [...w.shape] },
    { name: `db(${w.name})`, shape: [dbLength] },
  ];
  return withDx ? [{ name: `d(${x.name})`, shape: [...x.shape] }, ...dims] : dims;
}

/** out = x·W + b; x [n, d] (data or activation), W [d, m], b [m]. */
export const affineOp: OpDef = {
  name: 'affine',
  outputs([x, w, b]) {
    const [n, d] = [x!.shape[0]!, sizeOf(x!.shape.slice(1))];
    expectShape('affine', 'W', w!.shape, [d, -1]);
    expectShape('affine', 'b', b!.shape, [w!.shape[1]!]);
    return [{ name: `${w!.name}·x`, shape: [n, w!.shape[1]!] }];
  },
  encode(scope, { inputs: [x, w, b], outputs: [out] }, node) {
    const [xv, wv] = node.inputs;
    return createAffineForward(scope, { x: x!, w: w!, b: b!, out: out!, n: xv!.shape[0]!, d: wv!.shape[0]!, m: wv!.shape[1]! });
  },
  backward: (g, node, douts) => makeAffineBackward(affineGradOp)(g, node, douts),
};

/** [dx?, dW, db] from x, W and dout (dx only when x needs a gradient). */
export const affineGradOp: OpDef<{ withDx: boolean }> = {
  name: 'affine_grad',
  outputs([x, w], { withDx }) {
    return makeAffineGradOutputs(x!, w!, w!.shape[1]!, withDx);
  },
  encode(scope, { inputs: [x, w, dout], outputs }, node) {
    const { withDx } = node.attrs;
    const [dx, dw, db] = withDx ? outputs : [undefined, ...outputs];
    const [xv, wv] = node.inputs;
    return createAffineBackward(scope, {
      x: x!,
      w: w!,
      dout: dout!,
      dx,
      dw: dw!,
      db: db!,
      n: xv!.shape[0]!,
      d: wv!.shape[0]!,
      m: wv!.shape[1]!,
    });
  },
};
