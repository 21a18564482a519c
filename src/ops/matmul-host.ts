// The host-array matmul on the GPU: one matmul node run by runHostOp (the kernels are in matmul.ts, the plan in matmul-plan.ts).
import type { GpuContext } from '../gpu/device.ts';
import { matmulOp } from './matmul.ts';
import { hostShape, runHostOp, type F32Tensor, type HostTensor } from './host.ts';

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
  const inputs = [
    { name: 'a', data: a.data, shape: [ar, ac] },
    { name: 'b', data: b.data, shape: [br, bc] },
    ...(opts.bias ? [{ name: 'bias', data: opts.bias.data, shape: [n] }] : []),
  ];
  const { outputs } = await runHostOp(gpu, matmulOp, inputs, { transA, transB });
  return outputs[0]!;
}
