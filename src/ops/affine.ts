// Affine layer out = x·W + b: shape rule, GPU encode of forward and backward (matmul + column sums), host-array forms.
import colsumWgsl from '../../shaders/colsum.wgsl?raw';
import { createBindGroup, getKernel } from '../gpu/kernel.ts';
import { readF32, toF32 } from '../gpu/buffers.ts';
import { gridFor, runDispatches, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { createMatmul } from './matmul.ts';
import { withScope, type F32Tensor, type HostTensor } from './host.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { expectShape, needsGrad, sizeOf, type OpDef } from '../graph/graph.ts';

/**
 * Record y[j] = Σ_i x[i, j] for a row-major rows×cols x (the bias gradient of an affine layer).
 *   const db = await createColumnSum(scope, { x: dout, y: dbBuf, rows: 50, cols: 100 });
 *   await runDispatches(gpu, [db]);
 */
export async function createColumnSum(scope: GpuScope, a: { x: GPUBuffer; y: GPUBuffer; rows: number; cols: number }): Promise<Dispatch> {
  const op = `colsum ${a.rows}x${a.cols}`;
  assertCount(op, 'rows', a.rows);
  assertCount(op, 'cols', a.cols);
  assertBuffer(op, 'x', a.x, a.rows * a.cols);
  assertBuffer(op, 'y', a.y, a.cols);
  const kernel = await getKernel(scope.ctx, { name: 'colsum', source: colsumWgsl, constants: { WG: 64 } });
  const params = scope.createUniformBuffer(kernel, 'params', { rows: a.rows, cols: a.cols }, `${op} params`);
  return { kernel, bindGroup: createBindGroup(scope.ctx, kernel, { x: a.x, y: a.y, params }), workgroups: gridFor(a.cols, 64), label: op };
}

/**
 * Record out (n×m) = x (n×d) · W (d×m) + b (m): one matmul with the bias fused.
 *   const fwd = await createAffineForward(scope, { x, w, b, out, n: 50, d: 3072, m: 100 });
 *   await runDispatches(gpu, fwd);
 */
export async function createAffineForward(
  scope: GpuScope, a: { x: GPUBuffer; w: GPUBuffer; b: GPUBuffer; out: GPUBuffer; n: number; d: number; m: number },
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
  a: { x: GPUBuffer; w: GPUBuffer; dout: GPUBuffer; dx?: GPUBuffer; dw: GPUBuffer; db: GPUBuffer; n: number; d: number; m: number },
): Promise<Dispatch[]> {
  const { n, d, m } = a;
  const list: Dispatch[] = [];
  if (a.dx) list.push(...await createMatmul(scope, { a: a.dout, b: a.w, c: a.dx, m: n, n: d, k: m, transB: true }));
  list.push(...await createMatmul(scope, { a: a.x, b: a.dout, c: a.dw, m: d, n: m, k: n, transA: true }));
  list.push(await createColumnSum(scope, { x: a.dout, y: a.db, rows: n, cols: m }));
  return list;
}

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

/** N and D of x reshaped to N×D (x is N×d1×...×dk), with its element count checked. */
function flatRows(fn: string, x: HostTensor): [number, number] {
  if (x.shape.length < 1) throw new Error(`${fn}: x has shape ${fmt(x.shape)}, expected [N, d1, ..., dk]`);
  const n = x.shape[0]!;
  const d = x.shape.slice(1).reduce((p, q) => p * q, 1);
  if (x.data.length !== n * d) throw new Error(`${fn}: x has ${x.data.length} elements, shape ${fmt(x.shape)} needs ${n * d}`);
  return [n, d];
}

function checkW(fn: string, x: HostTensor, w: HostTensor, d: number): number {
  if (w.shape.length !== 2 || w.shape[0] !== d) {
    throw new Error(`${fn}: x has shape ${fmt(x.shape)} (N x D with D = ${d}) but w has shape ${fmt(w.shape)}, expected [${d}, M]`);
  }
  const m = w.shape[1]!;
  if (w.data.length !== d * m) throw new Error(`${fn}: w has ${w.data.length} elements, shape ${fmt(w.shape)} needs ${d * m}`);
  return m;
}

/**
 * The seed's affine_forward on the GPU: out = reshape(x, [N, D])·w + b, float32.
 *   const { out } = await affineForward(gpu, { data: x, shape: [2, 4, 5, 6] }, { data: w, shape: [120, 3] }, { data: b, shape: [3] });
 *   out.shape; // [2, 3]
 */
export async function affineForward(gpu: GpuContext, x: HostTensor, w: HostTensor, b: HostTensor): Promise<{ out: F32Tensor }> {
  const fn = 'affineForward';
  const [n, d] = flatRows(fn, x);
  const m = checkW(fn, x, w, d);
  if (b.shape.length !== 1 || b.shape[0] !== m || b.data.length !== m) throw new Error(`${fn}: w has shape ${fmt(w.shape)} but b has shape ${fmt(b.shape)}, expected [${m}]`);
  return withScope(gpu, async (scope) => {
    const out = scope.createTensorBuffer(n * m * 4, 'affine out');
    const list = await createAffineForward(scope, {
      x: scope.createTensorBuffer(toF32(x.data), 'affine x'),
      w: scope.createTensorBuffer(toF32(w.data), 'affine w'),
      b: scope.createTensorBuffer(toF32(b.data), 'affine b'),
      out, n, d, m,
    });
    await runDispatches(gpu, list, `${fn} n=${n} d=${d} m=${m}`);
    return { out: { data: await readF32(gpu, out, n * m), shape: [n, m] } };
  });
}

/**
 * The seed's affine_backward on the GPU: dx (x's shape) = dout·wᵀ, dw = xᵀ·dout, db = Σ_rows dout, float32.
 *   const { dx, dw, db } = await affineBackward(gpu, dout, x, w); // dout [N, M], x [N, d1, ...], w [D, M]
 *   dx.shape; // x.shape
 */
export async function affineBackward(
  gpu: GpuContext, dout: HostTensor, x: HostTensor, w: HostTensor,
): Promise<{ dx: F32Tensor; dw: F32Tensor; db: F32Tensor }> {
  const fn = 'affineBackward';
  const [n, d] = flatRows(fn, x);
  const m = checkW(fn, x, w, d);
  if (dout.shape.length !== 2 || dout.shape[0] !== n || dout.shape[1] !== m || dout.data.length !== n * m) {
    throw new Error(`${fn}: x has shape ${fmt(x.shape)} and w ${fmt(w.shape)}, so dout must be [${n},${m}], got ${fmt(dout.shape)}`);
  }
  return withScope(gpu, async (scope) => {
    const dx = scope.createTensorBuffer(n * d * 4, 'affine dx');
    const dw = scope.createTensorBuffer(d * m * 4, 'affine dw');
    const db = scope.createTensorBuffer(m * 4, 'affine db');
    const list = await createAffineBackward(scope, {
      x: scope.createTensorBuffer(toF32(x.data), 'affine x'),
      w: scope.createTensorBuffer(toF32(w.data), 'affine w'),
      dout: scope.createTensorBuffer(toF32(dout.data), 'affine dout'),
      dx, dw, db, n, d, m,
    });
    await runDispatches(gpu, list, `${fn} n=${n} d=${d} m=${m}`);
    return {
      dx: { data: await readF32(gpu, dx, n * d), shape: [...x.shape] },
      dw: { data: await readF32(gpu, dw, d * m), shape: [d, m] },
      db: { data: await readF32(gpu, db, m), shape: [m] },
    };
  });
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

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
  backward(g, node, [dout]) {
    const [x, w] = node.inputs;
    const withDx = needsGrad(x!);
    const outs = g.apply(affineGradOp, [x!, w!, dout!], { withDx }, [], 'grad');
    return withDx ? [outs[0]!, outs[1]!, outs[2]!] : [null, outs[0]!, outs[1]!];
  },
};

/** [dx?, dW, db] from x, W and dout (dx only when x needs a gradient). */
export const affineGradOp: OpDef<{ withDx: boolean }> = {
  name: 'affine_grad',
  outputs([x, w], { withDx }) {
    const dims = [
      { name: `d${w!.name}`, shape: [...w!.shape] },
      { name: `db(${w!.name})`, shape: [w!.shape[1]!] },
    ];
    return withDx ? [{ name: `d(${x!.name})`, shape: [...x!.shape] }, ...dims] : dims;
  },
  encode(scope, { inputs: [x, w, dout], outputs }, node) {
    const { withDx } = node.attrs;
    const [dx, dw, db] = withDx ? outputs : [undefined, ...outputs];
    const [xv, wv] = node.inputs;
    return createAffineBackward(scope, { x: x!, w: w!, dout: dout!, dx, dw: dw!, db: db!, n: xv!.shape[0]!, d: wv!.shape[0]!, m: wv!.shape[1]! });
  },
};
