// A dataset split on the GPU: uint8 pixels (or f32 rows) in chunks that fit one storage binding, plus u32 labels, checked on the way up.
import type { GpuScope } from '../gpu/buffers.ts';
import type { SolverSplit } from '../solver/model.ts';

/** One uploaded split; `format` says which gather reads it; `X` holds `chunkRows` rows a chunk (the last may hold fewer). */
export interface SplitOnGpu {
  name: string;
  X: GPUBuffer[];
  chunkRows: number;
  y: GPUBuffer;
  rows: number;
  format: 'uint8' | 'words';
}

/** Options of the upload: the largest chunk, in bytes (default: the device's binding and buffer limits). */
export interface UploadOptions {
  maxChunkBytes?: number;
}

/**
 * Rows per chunk for rows of `rowBytes` under the device's limits (or `maxChunkBytes`): every chunk is one
 * storage binding, so it must fit maxStorageBufferBindingSize and maxBufferSize; a row larger than that is an
 * error that names the limit and the size it would need.
 *   chunkRowsFor(device.limits, 3072, 49000); // 43690 where maxStorageBufferBindingSize is 128 MiB
 */
export function chunkRowsFor(limits: GPUSupportedLimits, rowBytes: number, rows: number, maxChunkBytes?: number): number {
  const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const limit = Math.min(binding, maxChunkBytes ?? Infinity);
  // whole rows, and a whole number of 4-byte words for the u32 view (16 bytes for the vec4 gather)
  const perChunk = Math.floor((limit - 16) / rowBytes);
  if (perChunk < 1) {
    const which =
      limit < binding
        ? `maxChunkBytes ${maxChunkBytes}`
        : `the device's maxStorageBufferBindingSize (${limits.maxStorageBufferBindingSize}) / maxBufferSize (${limits.maxBufferSize})`;
    throw new Error(`one row of ${rowBytes} bytes does not fit ${which}; a chunk needs at least ${rowBytes + 16} bytes`);
  }
  return Math.min(rows, perChunk);
}

/**
 * Upload X (uint8 pixels stay uint8: 150 MB for CIFAR-10's training set, not 600 MB) and y, after checking the
 * feature count against the net and every label against `numClasses`. X goes up in chunks of whole rows that
 * each fit one binding (two for CIFAR-10's training set on a device with 128 MiB bindings), straight from the
 * caller's array (no packed copy on the host).
 *   const train = uploadSplit(scope, data.XTrain, data.yTrain, 'XTrain', 3072, 10);
 *   train.format; // 'uint8'
 */
export function uploadSplit(
  scope: GpuScope,
  X: SolverSplit['X'],
  y: ArrayLike<number>,
  name: string,
  inputDim: number,
  numClasses: number,
  opts: UploadOptions = {},
): SplitOnGpu {
  const rows = X.shape[0]!;
  const dim = X.data.length / rows;
  if (dim !== inputDim)
    throw new Error(`${name}: shape [${X.shape.join(',')}] has ${dim} features per row, the net takes inputDim ${inputDim}`);
  if (y.length !== rows) throw new Error(`${name}: ${y.length} labels for ${rows} rows`);
  const labels = Uint32Array.from(y);
  for (let i = 0; i < rows; i++) {
    if (labels[i]! >= numClasses) throw new Error(`${name}: label ${labels[i]} at row ${i} is outside 0..${numClasses - 1}`);
  }
  const isU8 = X.data instanceof Uint8Array;
  const data = isU8 ? (X.data as Uint8Array) : X.data instanceof Float32Array ? X.data : Float32Array.from(X.data);
  const rowBytes = isU8 ? dim : dim * 4;
  const chunkRows = chunkRowsFor(scope.ctx.device.limits, rowBytes, rows, opts.maxChunkBytes);
  const chunks: GPUBuffer[] = [];
  for (let base = 0; base < rows; base += chunkRows) {
    const n = Math.min(chunkRows, rows - base);
    // a view of the caller's rows; createTensorBuffer pads the byte length to whole words
    const part = data.subarray(base * dim, (base + n) * dim);
    chunks.push(scope.createTensorBuffer(part, rows > chunkRows ? `${name} X rows ${base}..${base + n - 1}` : `${name} X`));
  }
  return { name, X: chunks, chunkRows, y: scope.createTensorBuffer(labels, `${name} y`), rows, format: isU8 ? 'uint8' : 'words' };
}
