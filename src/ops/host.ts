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

/**
 * The [rows, cols] of a 2-D host tensor whose data length matches; errors name the function and the argument.
 *   const [n, d] = matrixShape('forwardBatchNormalization', 'x', x);
 *   matrixShape('softmaxLoss', 'scores', { data: [1, 2], shape: [3] }); // Error: softmaxLoss: scores has shape [3], expected a matrix [rows, cols]
 */
export function matrixShape(fn: string, arg: string, t: HostTensor): [number, number] {
  if (t.shape.length !== 2) throw new Error(`${fn}: ${arg} has shape [${t.shape.join(',')}], expected a matrix [rows, cols]`);
  const [n, c] = t.shape as [number, number];
  if (t.data.length !== n * c) throw new Error(`${fn}: ${arg} has ${t.data.length} elements, shape [${n},${c}] needs ${n * c}`);
  return [n, c];
}
