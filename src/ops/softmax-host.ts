// The seed's softmax_loss on the GPU from host arrays (the kernel is in softmax.ts).
import { readF32, toF32 } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { createSoftmaxLoss } from './softmax.ts';
import { hostShape, withScope, type F32Tensor, type HostTensor } from './host.ts';

/**
 * The seed's `softmax_loss(x, y)` on the GPU: mean cross-entropy and its gradient, from host arrays.
 *   const { loss, dx } = await softmaxLoss(gpu, { data: scores, shape: [50, 10] }, labels);
 *   dx.data; // Float32Array of 500
 */
export async function softmaxLoss(gpu: GpuContext, scores: HostTensor, y: ArrayLike<number>): Promise<{ loss: number; dx: F32Tensor }> {
  const [n, c] = hostShape('softmaxLoss', 'scores', scores, 'matrix') as [number, number];
  if (y.length !== n) throw new Error(`softmaxLoss: y has ${y.length} labels, scores has ${n} rows`);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const label = y[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= c)
      throw new Error(`softmaxLoss: y[${i}] = ${label} is not a class index in 0..${c - 1}`);
    labels[i] = label;
  }
  return withScope(gpu, async (scope) => {
    const s = scope.createTensorBuffer(toF32(scores.data), 'scores');
    const yb = scope.createTensorBuffer(labels, 'y');
    const loss = scope.createTensorBuffer(4, 'loss');
    const dscores = scope.createTensorBuffer(n * c * 4, 'dscores');
    await runDispatches(gpu, await createSoftmaxLoss(scope, { scores: s, y: yb, loss, dscores, n, c }), 'softmaxLoss');
    return { loss: (await readF32(gpu, loss, 1))[0]!, dx: { data: await readF32(gpu, dscores, n * c), shape: [n, c] } };
  });
}
