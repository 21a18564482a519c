// Affine layer out = x·W + b: GPU encode of forward and backward (matmul + column sums) and the graph ops (host forms: affine-host.ts).
import colsumWgsl from '../../shaders/colsum.wgsl?raw';
import affineBackwardWgsl from '../../shaders/affine-backward.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { createMatmul } from './matmul.ts';
import { createReluBackward } from './elementwise.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { expectShape, needsGrad, sizeOf, type OpDef, type Value } from '../graph/graph.ts';

/**
 * Record y[j] = Σ_i x[i, j] for a row-major rows×cols x (the bias gradient of an affine layer), in one pass.
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
  const params = scope.createUniformBuffer(kernel, 'params', { rows: a.rows, cols: a.cols, chunkRows: a.rows }, `${op} params`);
  return createDispatch(scope, kernel, { x: a.x, y: a.y, params }, gridFor(a.cols, 64), op);
}

/**
 * Row splits of a column sum over rows×cols: 1 (one pass) on CPU adapters, for few rows (< 128) and where the columns
 * alone give 256 workgroups of 64; on GPUs otherwise splits of at least 64 rows for about 1024 workgroups (one pass over
 * a 1024x1024 dout is 16 workgroups looping over 1024 rows each).
 *   planColumnSumSplits(h200, 1024, 1024); // 16: 16 x 16 workgroups of 64 rows, then one pass over the 16 partial rows
 *   planColumnSumSplits(h200, 50, 100);    // 1
 */
export function planColumnSumSplits(adapter: AdapterSummary, rows: number, cols: number): number {
  const columnGroups = Math.ceil(cols / 64);
  if (isCpuAdapter(adapter) || rows < 128 || columnGroups >= 256) return 1;
  return Math.max(1, Math.min(Math.floor(rows / 64), Math.ceil(1024 / columnGroups), maxWorkgroupsPerDim));
}

/**
 * Record the column sum in `splits` row splits (default `planColumnSumSplits`): each split's partial row, then one pass
 * over the partial rows; one split is `createColumnSum`'s single pass.
 *   const db = await createColumnSumSplits(scope, { x: dout, y: dbBuf, rows: 1024, cols: 1024, splits: 16 });
 *   await runDispatches(gpu, db);
 */
export async function createColumnSumSplits(
  scope: GpuScope,
  a: { x: TensorRef; y: TensorRef; rows: number; cols: number; splits?: number },
): Promise<Dispatch[]> {
  const splits = a.splits ?? planColumnSumSplits(scope.ctx.adapter, a.rows, a.cols);
  const op = `colsum ${a.rows}x${a.cols}`;
  if (!Number.isInteger(splits) || splits < 1 || splits > Math.min(a.rows, maxWorkgroupsPerDim))
    throw new Error(`${op}: splits must be an integer in [1, ${Math.min(a.rows, maxWorkgroupsPerDim)}], got ${splits}`);
  if (splits === 1) return [await createColumnSum(scope, a)];
  assertBuffer(op, 'x', a.x, a.rows * a.cols);
  assertBuffer(op, 'y', a.y, a.cols);
  const chunkRows = Math.ceil(a.rows / splits);
  const chunks = Math.ceil(a.rows / chunkRows);
  const kernel = await getKernel(scope.ctx, { name: 'colsum', source: colsumWgsl, constants: { WG: 64 } });
  const params = scope.createUniformBuffer(kernel, 'params', { rows: a.rows, cols: a.cols, chunkRows }, `${op} params`);
  const partial = scope.createTensorBuffer(chunks * a.cols * 4, `${op} partial rows`);
  const grid: [number, number, number] = [gridFor(a.cols, 64)[0], chunks, 1];
  return [
    createDispatch(scope, kernel, { x: a.x, y: partial, params }, grid, `${op} ${chunks} splits`),
    await createColumnSum(scope, { x: partial, y: a.y, rows: chunks, cols: a.cols }),
  ];
}

/**
 * Record out (n×m) = x (n×d) · W (d×m) + b (m): one matmul with the bias fused (and a ReLU behind it with `relu`).
 *   const fwd = await createAffineForward(scope, { x, w, b, out, n: 50, d: 3072, m: 100 });
 *   await runDispatches(gpu, fwd);
 */
export async function createAffineForward(
  scope: GpuScope,
  a: { x: TensorRef; w: TensorRef; b: TensorRef; out: TensorRef; n: number; d: number; m: number; relu?: boolean },
): Promise<Dispatch[]> {
  return createMatmul(scope, { a: a.x, b: a.w, c: a.out, bias: a.b, m: a.n, n: a.m, k: a.d, relu: a.relu });
}

/** The affine backward's arguments: dx = dout·Wᵀ (when dx is given), dW = xᵀ·dout, db = Σ_rows dout. */
export interface AffineBackwardArgs {
  x: TensorRef;
  w: TensorRef;
  dout: TensorRef;
  dx?: TensorRef;
  dw: TensorRef;
  db: TensorRef;
  n: number;
  d: number;
  m: number;
  /** The layer's output when it was ReLU'd (out = max(0, x·W + b)): dout is masked by reluOut > 0 first. */
  reluOut?: TensorRef;
  /** All three products in one dispatch (true) or a matmul per product and a column sum (false); default `groupedAffineBackward`. */
  grouped?: boolean;
  /** The grouped kernel's workgroup size (default 16 on CPU adapters, 64 on GPUs). */
  workgroupSize?: number;
  /** Unfused: the row splits of db's column sum (default `planColumnSumSplits`: 1 on CPU adapters, 16 at 1024x1024 on GPUs). */
  colsumSplits?: number;
}

/**
 * Whether the grouped (one-dispatch) affine backward pays for a layer: where the batch is small (n <= 512), its
 * products are launch-bound and one launch beats three; bigger batches keep the tuned matmul plans (split K, vec4).
 * On CPU adapters a wide layer with the ReLU mask (d·m > 65536) keeps them too: the grouped kernel's scalar loads of
 * dout and its mask made the no-batchnorm first layer (50x3072x100) 1.5x slower there (SwiftShader, measured).
 *   groupedAffineBackward(50, 100, 100);  // true
 *   groupedAffineBackward(4096, 100, 100); // false
 */
export function groupedAffineBackward(n: number, d: number, m: number, on: { cpu?: boolean; relu?: boolean } = {}): boolean {
  if (on.cpu && on.relu && d * m > 65536) return false;
  return n <= 512 && d * m <= 1 << 22;
}

/**
 * Record the affine backward: dx = dout·Wᵀ (skipped without dx, e.g. for the first layer), dW = xᵀ·dout, db = Σ_rows dout;
 * one grouped dispatch (shaders/affine-backward.wgsl) or, where that does not pay, two matmuls and a column sum.
 *   const bwd = await createAffineBackward(scope, { x, w, dout, dx, dw, db, n: 50, d: 3072, m: 100 });
 *   await runDispatches(gpu, bwd);
 */
export async function createAffineBackward(scope: GpuScope, a: AffineBackwardArgs): Promise<Dispatch[]> {
  const { n, d, m } = a;
  const op = `affine.backward${a.reluOut ? '(+relu)' : ''} n=${n} d=${d} m=${m}`;
  for (const [name, v] of Object.entries({ n, d, m })) assertCount(op, name, v);
  assertBuffer(op, 'x', a.x, n * d);
  assertBuffer(op, 'w', a.w, d * m);
  assertBuffer(op, 'dout', a.dout, n * m);
  if (a.dx) assertBuffer(op, 'dx', a.dx, n * d);
  assertBuffer(op, 'dw', a.dw, d * m);
  assertBuffer(op, 'db', a.db, m);
  if (a.reluOut) assertBuffer(op, 'reluOut', a.reluOut, n * m);
  const on = { cpu: isCpuAdapter(scope.ctx.adapter), relu: a.reluOut !== undefined };
  if (a.grouped ?? groupedAffineBackward(n, d, m, on)) return [await createGroupedAffineBackward(scope, a, op)];
  const list: Dispatch[] = [];
  let dout = a.dout;
  if (a.reluOut) {
    dout = scope.createTensorBuffer(n * m * 4, `${op} masked dout`);
    list.push(await createReluBackward(scope, { x: a.reluOut, dout: a.dout, dx: dout, n: n * m }));
  }
  if (a.dx) list.push(...(await createMatmul(scope, { a: dout, b: a.w, c: a.dx, m: n, n: d, k: m, transB: true })));
  list.push(...(await createMatmul(scope, { a: a.x, b: dout, c: a.dw, m: d, n: m, k: n, transA: true })));
  list.push(...(await createColumnSumSplits(scope, { x: dout, y: a.db, rows: n, cols: m, splits: a.colsumSplits })));
  return list;
}

/** The grouped kernel: invocations partitioned between dx's 8x8 blocks, dW's 8x8 blocks and db's column quads. */
async function createGroupedAffineBackward(scope: GpuScope, a: AffineBackwardArgs, op: string): Promise<Dispatch> {
  const { n, d, m } = a;
  const wg = a.workgroupSize ?? (isCpuAdapter(scope.ctx.adapter) ? 16 : 64);
  assertCount(op, 'workgroupSize', wg);
  const kernel = await getKernel(scope.ctx, {
    name: 'affine-backward',
    source: affineBackwardWgsl,
    constants: { WG: wg, RELU: a.reluOut ? 1 : 0 },
  });
  const blocks = (rows: number, cols: number) => Math.ceil(rows / 8) * Math.ceil(cols / 8);
  const counts = { dxBlocks: a.dx ? blocks(n, d) : 0, dwBlocks: blocks(d, m), dbQuads: Math.ceil(m / 4) };
  const params = scope.createUniformBuffer(kernel, 'params', { n, d, m, ...counts }, `${op} params`);
  const groups = Math.ceil((counts.dxBlocks + counts.dwBlocks + counts.dbQuads) / wg);
  const x = Math.min(groups, maxWorkgroupsPerDim);
  if (Math.ceil(groups / x) > maxWorkgroupsPerDim) throw new Error(`${op}: ${groups} workgroups are too many for one dispatch`);
  const dx = a.dx ?? scope.createTensorBuffer(4, `${op} no dx`);
  const bound = { x: a.x, w: a.w, dout: a.dout, reluOut: a.reluOut ?? a.dout, dx, dw: a.dw, db: a.db, params };
  const what = `${a.dx ? 'dx+' : ''}dW+db`;
  return createDispatch(scope, kernel, bound, [x, Math.ceil(groups / x), 1], `${op} grouped ${what} wg=${wg}`);
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/**
 * The backward rule of an affine op (plain or batched): one `gradOp` node giving [dx?, dW, db], dx only when x
 * needs a gradient (gathered data does not); b's gradient shape is `dbShape` of W. A node with `relu` (its output
 * ReLU'd) hands its output to the gradient node as a fourth input, `relu: true`, which masks dout by it.
 *   const backward = makeAffineBackward(affineGradOp);
 *   const [dx, dW, db] = backward(g, node, [dout]);
 */
export function makeAffineBackward(gradOp: OpDef<{ withDx: boolean; relu?: boolean; grouped?: boolean }>): NonNullable<OpDef['backward']> {
  return (g, node, [dout]) => {
    const [x, w] = node.inputs;
    const withDx = needsGrad(x!);
    const { relu, grouped } = node.attrs as AffineAttrs;
    const inputs = relu ? [x!, w!, dout!, node.outputs[0]!] : [x!, w!, dout!];
    const attrs = { withDx, ...(relu ? { relu } : {}), ...(grouped !== undefined ? { grouped } : {}) };
    const outs = g.apply(gradOp, inputs, attrs, [], 'grad');
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

/** An affine node's options: a ReLU behind (the matmul's epilogue), and its backward forced grouped or not (default: planned). */
export type AffineAttrs = {
  relu?: boolean;
  grouped?: boolean;
};

/** out = x·W + b, or max(0, x·W + b) with `relu` (the matmul's epilogue); x [n, d] (data or activation), W [d, m], b [m]. */
export const affineOp: OpDef<AffineAttrs> = {
  name: 'affine',
  outputs([x, w, b], { relu }) {
    const [n, d] = [x!.shape[0]!, sizeOf(x!.shape.slice(1))];
    expectShape('affine', 'W', w!.shape, [d, -1]);
    expectShape('affine', 'b', b!.shape, [w!.shape[1]!]);
    return [{ name: relu ? `relu(${w!.name}·x)` : `${w!.name}·x`, shape: [n, w!.shape[1]!] }];
  },
  encode(scope, { inputs: [x, w, b], outputs: [out] }, node) {
    const [xv, wv] = node.inputs;
    const [n, d, m] = [xv!.shape[0]!, wv!.shape[0]!, wv!.shape[1]!];
    return createAffineForward(scope, { x: x!, w: w!, b: b!, out: out!, n, d, m, relu: node.attrs.relu });
  },
  backward: (g, node, douts) => makeAffineBackward(affineGradOp)(g, node, douts),
};

/** [dx?, dW, db] from x, W and dout (dx only when x needs a gradient); with `relu`, the ReLU'd output is a fourth input masking dout. */
export const affineGradOp: OpDef<{ withDx: boolean; relu?: boolean; grouped?: boolean }> = {
  name: 'affine_grad',
  outputs([x, w], { withDx }) {
    return makeAffineGradOutputs(x!, w!, w!.shape[1]!, withDx);
  },
  encode(scope, { inputs: [x, w, dout, reluOut], outputs }, node) {
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
      reluOut: node.attrs.relu ? reluOut : undefined,
      grouped: node.attrs.grouped,
    });
  },
};
