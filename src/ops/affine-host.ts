// The seed's affine_forward / affine_backward on the GPU from host arrays (the kernels are in affine.ts).
import { readF32, toF32 } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { createAffineBackward, createAffineForward } from './affine.ts';
import { hostShape, withScope, type F32Tensor, type HostTensor } from './host.ts';

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
  return withScope(gpu, async (scope) => {
    const out = scope.createTensorBuffer(n * m * 4, 'affine out');
    const list = await createAffineForward(scope, {
      x: scope.createTensorBuffer(toF32(x.data), 'affine x'),
      w: scope.createTensorBuffer(toF32(w.data), 'affine w'),
      b: scope.createTensorBuffer(toF32(b.data), 'affine b'),
      out,
      n,
      d,
      m,
    });
    await runDispatches(gpu, list, `${fn} n=${n} d=${d} m=${m}`);
    return { out: { data: await readF32(gpu, out, n * m), shape: [n, m] } };
  });
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
  return withScope(gpu, async (scope) => {
    const dx = scope.createTensorBuffer(n * d * 4, 'affine dx');
    const dw = scope.createTensorBuffer(d * m * 4, 'affine dw');
    const db = scope.createTensorBuffer(m * 4, 'affine db');
    const list = await createAffineBackward(scope, {
      x: scope.createTensorBuffer(toF32(x.data), 'affine x'),
      w: scope.createTensorBuffer(toF32(w.data), 'affine w'),
      dout: scope.createTensorBuffer(toF32(dout.data), 'affine dout'),
      dx,
      dw,
      db,
      n,
      d,
      m,
    });
    await runDispatches(gpu, list, `${fn} n=${n} d=${d} m=${m}`);
    return {
      dx: { data: await readF32(gpu, dx, n * d), shape: [...x.shape] },
      dw: { data: await readF32(gpu, dw, d * m), shape: [d, m] },
      db: { data: await readF32(gpu, db, m), shape: [m] },
    };
  });
}
