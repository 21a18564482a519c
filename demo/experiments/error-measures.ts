// The error measures of the self-test and the kernel specs: a GPU result against its float64 answer, NaN counted as a failure.
import { reference as ref } from '../../src/index.ts';

/**
 * The float64 value of each element rounded to f32 (what the GPU is given).
 *   f32([0.1])[0];    // 0.10000000149011612
 *   f32([1, 2.5]);    // Float64Array [1, 2.5]
 */
export const f32 = (a: ArrayLike<number>): Float64Array => Float64Array.from(Float32Array.from(a));

/**
 * max_i |got_i - want_i| / mag(i): the error relative to the magnitude of the operands that were rounded (NaN fails).
 *   boundedError([1.0001], [1], () => 1); // ~1e-4
 *   boundedError([NaN], [1], () => 1);    // Infinity
 */
export function boundedError(got: ArrayLike<number>, want: ArrayLike<number>, mag: (i: number) => number): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / Math.max(mag(i), 1e-30);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/**
 * max_i |got_i - want_i| / max_i |want_i| (NaN fails).
 *   scaledError([2, 1.001], [2, 1]); // 5e-4
 *   scaledError([NaN], [1]);         // Infinity
 */
export function scaledError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!);
    if (!(e <= diff)) diff = Number.isNaN(e) ? Infinity : e;
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

/**
 * ‖got - want‖ / ‖want‖ (NaN fails).
 *   normError([3, 4.0005], [3, 4]); // 1e-4
 *   normError([NaN], [1]);          // Infinity
 */
export function normError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  const e = Math.sqrt(num / Math.max(den, 1e-300));
  return Number.isNaN(e) ? Infinity : e;
}

/**
 * The seed's relError, NaN counted as a failure.
 *   relErr(Float32Array.of(1), Float64Array.of(1)); // 0
 *   relErr(1.1, 1);                                 // 0.1 / 2.1, the seed's |x - y| / (|x| + |y|)
 */
export function relErr(got: ArrayLike<number> | number, want: ArrayLike<number> | number): number {
  const e = ref.relError(got, want);
  return Number.isNaN(e) ? Infinity : e;
}
