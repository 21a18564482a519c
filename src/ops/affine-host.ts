// The seed's affine_forward / affine_backward on the GPU from host arrays (the kernels are in affine.ts).
import type { GpuContext } from '../gpu/device.ts';
import { affineGradOp, affineOp } from './affine.ts';
import { hostShape, runHostOp, type F32Tensor, type HostTensor } from './host.ts';

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

/** M of w [D, M], whose first size must be x's row length D. */
function checkW(fn: string, x: HostTensor, w: HostTensor, d: number): number {
  const [rows, m] = hostShape(fn, 'w', w, 'matrix');
  if (rows !== d)
    throw new Error(`${fn}: x has shape ${fmt(x.shape)} (N x D with D = ${d}) but w has shape ${fmt(w.shape)}, expected [${d}, M]`);
  return m!;
}

/**
 * The seed's affine_forward on the GPU: out = reshape(x, [N, D])·w + b, float32.
 *   const { out } = await affineForward(gpu, { data: x, shape: [2, 4, 5, 6] }, { data: w, shape: [120, 3] }, { data: b, shape: [3] });
 *   out.shape; // [2, 3]
 */
export async function affineForward(gpu: GpuContext, x: HostTensor, w: HostTensor, b: HostTensor): Promise<{ out: F32Tensor }> {
  const fn = 'affineForward';
  const [n, d] = hostShape(fn, 'x', x, 'rows') as [number, number];
  const m = checkW(fn, x, w, d);
  if (b.shape.length !== 1 || b.shape[0] !== m || b.data.length !== m)
    throw new Error(`${fn}: w has shape ${fmt(w.shape)} but b has shape ${fmt(b.shape)}, expected [${m}]`);
  // x as [N, D] rows (the seed reshapes it)
  const { outputs } = await runHostOp(
    gpu,
    affineOp,
    [
      { name: 'x', data: x.data, shape: [n, d] },
      { name: 'w', data: w.data, shape: [d, m] },
      { name: 'b', data: b.data, shape: [m] },
    ],
    {},
  );
  return { out: outputs[0]! };
}

/**
 * The seed's affine_backward on the GPU: dx (x's shape) = dout·wᵀ, dw = xᵀ·dout, db = Σ_rows dout, float32.
 *   const { dx, dw, db } = await affineBackward(gpu, dout, x, w); // dout [N, M], x [N, d1, ...], w [D, M]
 *   dx.shape; // x.shape
 */
export async function affineBackward(
  gpu: GpuContext,
  dout: HostTensor,
  x: HostTensor,
  w: HostTensor,
): Promise<{ dx: F32Tensor; dw: F32Tensor; db: F32Tensor }> {
  const fn = 'affineBackward';
  const [n, d] = hostShape(fn, 'x', x, 'rows') as [number, number];
  const m = checkW(fn, x, w, d);
  if (dout.shape.length !== 2 || dout.shape[0] !== n || dout.shape[1] !== m || dout.data.length !== n * m) {
    throw new Error(`${fn}: x has shape ${fmt(x.shape)} and w ${fmt(w.shape)}, so dout must be [${n},${m}], got ${fmt(dout.shape)}`);
  }
  const { outputs } = await runHostOp(
    gpu,
    affineGradOp,
    [
      { name: 'x', data: x.data, shape: [n, d] },
      { name: 'w', data: w.data, shape: [d, m] },
      { name: 'dout', data: dout.data, shape: [n, m] },
    ],
    { withDx: true },
  );
  const [dx, dw, db] = outputs as [F32Tensor, F32Tensor, F32Tensor];
  return { dx: { data: dx.data, shape: [...x.shape] }, dw, db };
}
