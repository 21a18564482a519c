// The seed's relu_forward / relu_backward on the GPU from host arrays (the kernels are rows of elementwise.ts).
import type { GpuContext } from '../gpu/device.ts';
import { reluGradOp, reluOp } from './elementwise.ts';
import { hostShape, runHostOp, type F32Tensor, type HostTensor } from './host.ts';

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
  const { outputs } = await runHostOp(gpu, reluOp, [{ name: 'x', data: cache.data, shape: x.shape }], {});
  return { out: outputs[0]!, cache };
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
  const { outputs } = await runHostOp(
    gpu,
    reluGradOp,
    [
      { name: 'x', data: cache.data, shape: cache.shape },
      { name: 'dout', data: dout.data, shape: dout.shape },
    ],
    {},
  );
  return outputs[0]!;
}
