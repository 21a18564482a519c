// Helpers for the host-array (notebook-style) forms of the GPU ops: tensor types, a scoped one-shot run, shape checks.
import { createScope, type GpuScope } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';

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
