// The float64 row-major Tensor of the CPU reference, its constructors and its shape checks.

/** A dense row-major float64 array with a shape; `data.length === sizeOf(shape)`. */
export interface Tensor {
  data: Float64Array;
  shape: number[];
}

/** A shape pattern for `assertShape`: a number must match exactly, `null` matches any size. */
export type ShapePattern = readonly (number | null)[];

/**
 * Number of elements of a shape (1 for the scalar shape `[]`); throws on a bad dimension.
 * @example
 *   sizeOf([2, 3, 4]); // 24
 *   sizeOf([]);        // 1
 */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`sizeOf: shape ${formatShape(shape)} has a dimension that is not a non-negative integer`);
    }
    n *= d;
  }
  return n;
}

/**
 * A new tensor of `shape`, zero-filled, or holding a COPY of `data` (whose length must match).
 * @example
 *   const z = makeTensor([2, 2]);               // zeros
 *   const t = makeTensor([2, 2], [1, 2, 3, 4]); // row-major [[1, 2], [3, 4]]
 */
export function makeTensor(shape: readonly number[], data?: ArrayLike<number>): Tensor {
  const n = sizeOf(shape);
  if (data !== undefined && data.length !== n) {
    throw new Error(`makeTensor: data has ${data.length} elements, shape ${formatShape(shape)} needs ${n}`);
  }
  return { data: data === undefined ? new Float64Array(n) : Float64Array.from(data), shape: [...shape] };
}

/**
 * Renders a shape or shape pattern as `[4,5]` (`?` for a wildcard), for error messages.
 * @example
 *   formatShape([4, 5]);    // "[4,5]"
 *   formatShape([null, 5]); // "[?,5]"
 */
export function formatShape(shape: ShapePattern): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

/**
 * Throws unless `actual` matches `expected` (same rank, equal sizes; `null` matches anything).
 * The message names the function, the argument and both shapes.
 * @example
 *   assertShape('affineForward', 'w', w.shape, [D, null]);
 *   // Error: affineForward: w has shape [7,3], expected [5,?]
 */
export function assertShape(fn: string, arg: string, actual: readonly number[], expected: ShapePattern): void {
  const ok = actual.length === expected.length && expected.every((d, i) => d === null || d === actual[i]);
  if (!ok) {
    throw new Error(`${fn}: ${arg} has shape ${formatShape(actual)}, expected ${formatShape(expected)}`);
  }
}

/**
 * Throws unless a flat vector (e.g. gamma, a running mean) has length `n`; same message style as `assertShape`.
 * @example
 *   assertLength('forwardBatchNormalization', 'gamma', gamma, D);
 *   // Error: forwardBatchNormalization: gamma has shape [4], expected [5]
 */
export function assertLength(fn: string, arg: string, v: ArrayLike<number>, n: number): void {
  assertShape(fn, arg, [v.length], [n]);
}

/**
 * Per-column sums of a row-major [n, d] array (batchnorm's statistics, both normalizations' dgamma and dbeta).
 * @example
 *   columnSums(Float64Array.of(1, 2, 3, 4), 2, 2); // Float64Array [4, 6]
 *   columnSums(dout.data, n, d);                  // dbeta
 */
export function columnSums(data: Float64Array, n: number, d: number): Float64Array {
  const s = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) s[j] += data[i * d + j];
  return s;
}

/**
 * Splits a shape `[N, d1, ..., dk]` into `[N, d1*...*dk]` (the affine layer's view of its input).
 * @example
 *   rowsCols('affineForward', 'x', [10, 3, 32, 32]); // [10, 3072]
 *   rowsCols('affineForward', 'x', [10]);            // Error: ... expected [N,...]
 */
export function rowsCols(fn: string, arg: string, shape: readonly number[]): [number, number] {
  if (shape.length < 2) {
    throw new Error(`${fn}: ${arg} has shape ${formatShape(shape)}, expected [N,...] with at least 2 dimensions`);
  }
  return [shape[0], sizeOf(shape.slice(1))];
}
