// A dataset split on the GPU: uint8 pixels packed 4 per word (or f32 rows) plus u32 labels, checked on the way up.
import type { GpuScope } from '../gpu/buffers.ts';
import { packUint8 } from '../ops/gather.ts';
import type { SolverSplit } from '../solver/model.ts';

/** One uploaded split; `format` says which gather reads it. */
export interface SplitOnGpu { name: string; X: GPUBuffer; y: GPUBuffer; rows: number; format: 'uint8' | 'words' }

/**
 * Throw unless every row index is below `rows`, naming the caller.
 *   checkIndices(Uint32Array.of(3, 9), 5, 'step'); // Error: step: row index 9 out of range (5 rows)
 *   checkIndices(Uint32Array.of(0, 4), 5, 'step'); // fine
 */
export function checkIndices(indices: Uint32Array, rows: number, what: string): void {
  for (const i of indices) if (i >= rows) throw new Error(`${what}: row index ${i} out of range (${rows} rows)`);
}

/**
 * Upload X (uint8 pixels stay uint8: 150 MB for CIFAR-10's training set, not 600 MB) and y, after checking the
 * feature count against the net and every label against `numClasses`.
 *   const train = uploadSplit(scope, data.XTrain, data.yTrain, 'XTrain', 3072, 10);
 *   train.format; // 'uint8'
 */
export function uploadSplit(
  scope: GpuScope, X: SolverSplit['X'], y: ArrayLike<number>, name: string, inputDim: number, numClasses: number,
): SplitOnGpu {
  const rows = X.shape[0]!;
  const dim = X.data.length / rows;
  if (dim !== inputDim) throw new Error(`${name}: shape [${X.shape.join(',')}] has ${dim} features per row, the net takes inputDim ${inputDim}`);
  if (y.length !== rows) throw new Error(`${name}: ${y.length} labels for ${rows} rows`);
  const labels = Uint32Array.from(y);
  for (let i = 0; i < rows; i++) {
    if (labels[i]! >= numClasses) throw new Error(`${name}: label ${labels[i]} at row ${i} is outside 0..${numClasses - 1}`);
  }
  const isU8 = X.data instanceof Uint8Array;
  return {
    name,
    X: scope.createTensorBuffer(isU8 ? packUint8(X.data as Uint8Array) : Float32Array.from(X.data), `${name} X`),
    y: scope.createTensorBuffer(labels, `${name} y`),
    rows,
    format: isU8 ? 'uint8' : 'words',
  };
}
