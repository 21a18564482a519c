// Helpers for the host-array (notebook-style) forms of the GPU ops: tensor types, a one-node graph run, shape checks.
import { createScope, readF32, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { compileGraph } from '../graph/executor.ts';
import { Graph, type OpDef, type Value } from '../graph/graph.ts';

/** A row-major array with its shape, as a caller hands it in (the reference's Tensor fits). */
export interface HostTensor {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** What a host-form op hands back: float32 data read from the GPU, with its shape. */
export interface F32Tensor {
  data: Float32Array;
  shape: number[];
}

/**
 * Run `body` with a fresh scope and destroy everything it allocated afterwards, even on error.
 *   const y = await withScope(gpu, async (scope) => { ...; return readF32(gpu, buf, n); });
 *   gpu.stats.buffersLive; // unchanged
 */
export async function withScope<T>(gpu: GpuContext, body: (scope: GpuScope) => Promise<T>): Promise<T> {
  const scope = createScope(gpu);
  try {
    return await body(scope);
  } finally {
    scope.destroy();
  }
}

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

/**
 * The one host shape check: data length against the shape, then the form the function wants. 'matrix': exactly
 * [rows, cols]; 'rows': [N, d1, ..., dk] read as N rows of D = d1·...·dk (affine); 'any': any shape. Returns
 * [rows, cols] for 'matrix' and 'rows', the shape itself for 'any'; errors name the function and the argument.
 *   const [n, d] = hostShape('forwardBatchNormalization', 'x', x, 'matrix');
 *   hostShape('softmaxLoss', 'scores', { data: [1, 2], shape: [3] }, 'matrix'); // Error: softmaxLoss: scores has shape [3], expected a matrix [rows, cols]
 */
export function hostShape(fn: string, arg: string, t: HostTensor, form: 'matrix' | 'rows' | 'any'): number[] {
  if (form === 'matrix' && t.shape.length !== 2) throw new Error(`${fn}: ${arg} has shape ${fmt(t.shape)}, expected a matrix [rows, cols]`);
  if (form === 'rows' && t.shape.length < 1) throw new Error(`${fn}: ${arg} has shape ${fmt(t.shape)}, expected [N, d1, ..., dk]`);
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) throw new Error(`${fn}: ${arg} has ${t.data.length} elements, shape ${fmt(t.shape)} needs ${size}`);
  if (form === 'any') return [...t.shape];
  return [t.shape[0]!, t.shape.slice(1).reduce((a, b) => a * b, 1)];
}

/** A host array bound to a one-node graph: its data, shape and element type (f32 unless said; u32 for labels). */
export interface HostValue extends HostTensor {
  name: string;
  dtype?: 'f32' | 'u32';
}

/**
 * Run one op on host arrays as the training graphs run it: a Graph with one node of `op` (inputs as 'data' values
 * without gradients, `updates` as 'state' values rewritten in place), compiled by compileGraph, run once; returns the
 * outputs listed in `read` (indices, default all) and every update, read back as float32.
 *   const { outputs } = await runHostOp(gpu, reluOp, [{ name: 'x', data: [-1, 2], shape: [2] }], {});
 *   outputs[0].data; // Float32Array [0, 2]
 */
export async function runHostOp<A>(
  gpu: GpuContext,
  op: OpDef<A>,
  inputs: HostValue[],
  attrs: A,
  opts: { updates?: HostValue[]; read?: number[] } = {},
): Promise<{ outputs: F32Tensor[]; updates: Float32Array[] }> {
  const g = new Graph();
  const external = new Map<Value, TensorRef>();
  return withScope(gpu, async (scope) => {
    const bind = (h: HostValue, kind: 'data' | 'state') => {
      const v = g.value(h.name, [...h.shape], kind, h.dtype ?? 'f32');
      v.noGrad = true;
      const data = h.dtype === 'u32' ? Uint32Array.from(h.data) : Float32Array.from(h.data);
      external.set(v, scope.createTensorBuffer(data, h.name));
      return v;
    };
    const ins = inputs.map((h) => bind(h, 'data'));
    const ups = (opts.updates ?? []).map((h) => bind(h, 'state'));
    const outs = g.apply(op, ins, attrs, ups);
    for (const v of outs) v.keep = true;
    const compiled = await compileGraph(scope, g, external);
    await runDispatches(gpu, compiled.dispatches, op.name);
    const read = async (v: Value) =>
      readF32(
        gpu,
        compiled.bufferOf(v),
        v.shape.reduce((a, b) => a * b, 1),
      );
    const picked = opts.read ?? outs.map((_, i) => i);
    return {
      outputs: await Promise.all(picked.map(async (i) => ({ data: await read(outs[i]!), shape: [...outs[i]!.shape] }))),
      updates: await Promise.all(ups.map(read)),
    };
  });
}
