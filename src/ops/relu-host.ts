// The seed's relu_forward / relu_backward on the GPU from host arrays (the kernels are rows of elementwise.ts).
import { readF32, toF32 } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { createReluBackward, createReluForward } from './elementwise.ts';
import { hostShape, withScope, type F32Tensor, type HostTensor } from './host.ts';

/** Elements of a host tensor of any shape, checked against its data. */
const sizeOfShape = (fn: string, arg: string, t: HostTensor): number => hostShape(fn, arg, t, 'any').reduce((a, b) => a * b, 1);

/**
 * `out = max(0, x)` on the GPU, any shape; the cache is x (as float32).
 *   const { out, cache } = await reluForward(gpu, { data: [-1, 0, 2], shape: [3] });
 *   out.data; // Float32Array [0, 0, 2]
 */
export async function reluForward(gpu: GpuContext, x: HostTensor): Promise<{ out: F32Tensor; cache: F32Tensor }> {
  const n = sizeOfShape('reluForward', 'x', x);
  const cache = { data: Float32Array.from(x.data), shape: [...x.shape] };
  if (n === 0) return { out: { data: new Float32Array(0), shape: [...x.shape] }, cache };
  return withScope(gpu, async (scope) => {
    const xb = scope.createTensorBuffer(cache.data, 'x');
    const y = scope.createTensorBuffer(n * 4, 'out');
    await runDispatches(gpu, [await createReluForward(scope, { x: xb, y, n })], 'reluForward');
    return { out: { data: await readF32(gpu, y, n), shape: [...x.shape] }, cache };
  });
}

/**
 * `dx = dout * (x > 0)` on the GPU (0 at x = 0, as cs231n), from reluForward's cache.
 *   const { cache } = await reluForward(gpu, x);
 *   const dx = await reluBackward(gpu, dout, cache); // dx.shape = x.shape
 */
export async function reluBackward(gpu: GpuContext, dout: HostTensor, cache: HostTensor): Promise<F32Tensor> {
  const n = sizeOfShape('reluBackward', 'dout', dout);
  if (dout.shape.length !== cache.shape.length || dout.shape.some((s, i) => s !== cache.shape[i])) {
    throw new Error(`reluBackward: dout has shape [${dout.shape.join(',')}], expected [${cache.shape.join(',')}]`);
  }
  if (n === 0) return { data: new Float32Array(0), shape: [...dout.shape] };
  return withScope(gpu, async (scope) => {
    const x = scope.createTensorBuffer(toF32(cache.data), 'x');
    const d = scope.createTensorBuffer(toF32(dout.data), 'dout');
    const dx = scope.createTensorBuffer(n * 4, 'dx');
    await runDispatches(gpu, [await createReluBackward(scope, { x, dout: d, dx, n })], 'reluBackward');
    return { data: await readF32(gpu, dx, n), shape: [...dout.shape] };
  });
}
