// The seed's softmax_loss on the GPU from host arrays (the kernel is in softmax.ts).
import type { GpuContext } from '../gpu/device.ts';
import { softmaxLossOp } from './softmax.ts';
import { hostShape, runHostOp, type F32Tensor, type HostTensor } from './host.ts';

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
  const { outputs, updates } = await runHostOp(
    gpu,
    softmaxLossOp,
    [
      { name: 'scores', data: scores.data, shape: [n, c] },
      { name: 'y', data: labels, shape: [n], dtype: 'u32' },
    ],
    { lossIndex: 0 },
    { updates: [{ name: 'loss', data: [0], shape: [1] }] },
  );
  return { loss: updates[0]![0]!, dx: outputs[0]! };
}
