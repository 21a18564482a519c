// The host-array matmul on the GPU (the kernel and its launch planning are in matmul.ts).
import { readF32, toF32 } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { createMatmul } from './matmul.ts';
import { hostShape, withScope, type F32Tensor, type HostTensor } from './host.ts';

/**
 * Host-array matmul on the GPU: op(a)·op(b) (+ bias), float32, with the shape rule checked first.
 *   const { data, shape } = await matmul(gpu, { data: x, shape: [50, 3072] }, { data: w, shape: [3072, 100] });
 *   shape; // [50, 100]
 */
export async function matmul(
  gpu: GpuContext,
  a: HostTensor,
  b: HostTensor,
  opts: { transA?: boolean; transB?: boolean; bias?: HostTensor } = {},
): Promise<F32Tensor> {
  const { transA = false, transB = false } = opts;
  const [ar, ac] = hostShape('matmul', 'a', a, 'matrix') as [number, number];
  const [br, bc] = hostShape('matmul', 'b', b, 'matrix') as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (k !== kb) {
    throw new Error(
      `matmul: ${transA ? 'aᵀ' : 'a'} is ${m}x${k} (a has shape [${a.shape.join(',')}]) but ${transB ? 'bᵀ' : 'b'} is ${kb}x${n} (b has shape [${b.shape.join(',')}]); inner sizes differ`,
    );
  }
  if (opts.bias && (opts.bias.shape.length !== 1 || opts.bias.shape[0] !== n || opts.bias.data.length !== n)) {
    throw new Error(`matmul: bias has shape [${opts.bias.shape.join(',')}], expected [${n}]`);
  }
  return withScope(gpu, async (scope) => {
    const c = scope.createTensorBuffer(m * n * 4, 'matmul c');
    const list = await createMatmul(scope, {
      a: scope.createTensorBuffer(toF32(a.data), 'matmul a'),
      b: scope.createTensorBuffer(toF32(b.data), 'matmul b'),
      c,
      bias: opts.bias ? scope.createTensorBuffer(toF32(opts.bias.data), 'matmul bias') : undefined,
      m,
      n,
      k,
      transA,
      transB,
    });
    await runDispatches(gpu, list, `matmul ${m}x${n}x${k}`);
    return { data: await readF32(gpu, c, m * n), shape: [m, n] };
  });
}
