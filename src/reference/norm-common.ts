// What batchnorm and layer norm share in float64: the fields both caches keep, the forward's argument checks, and
// gamma's and beta's gradients (column sums, the same for both).
import { assertLength, assertShape, columnSums } from './tensor.ts';
import type { Tensor } from './tensor.ts';

/** The cache fields of both normalizations; the statistics are per feature [D] (batchnorm) or per row [N] (layer norm). */
export interface NormCache {
  /** Input, [N, D]. */
  x: Tensor;
  gamma: Float64Array;
  beta: Float64Array;
  eps: number;
  /** The mean used. */
  mu: Float64Array;
  /** The (biased) variance used. */
  var: Float64Array;
  /** `1 / sqrt(var + eps)`. */
  ivar: Float64Array;
  /** `(x - mu) * ivar`, the normalized input, [N, D]. */
  xhat: Tensor;
}

/**
 * A normalization's forward arguments checked: x a matrix [N, D], gamma and beta [D]; returns [N, D].
 * @example
 *   const [n, d] = checkNormArgs('forwardLayerNormalization', x, gamma, beta);
 *   checkNormArgs('f', x5, Float64Array.of(1), beta); // Error: f: gamma has shape [1], expected [5]
 */
export function checkNormArgs(fn: string, x: Tensor, gamma: Float64Array, beta: Float64Array): [number, number] {
  assertShape(fn, 'x', x.shape, [null, null]);
  const [n, d] = x.shape as [number, number];
  assertLength(fn, 'gamma', gamma, d);
  assertLength(fn, 'beta', beta, d);
  return [n, d];
}

/**
 * gamma's and beta's gradients of either normalization: `dgamma = sum_i dout * xhat`, `dbeta = sum_i dout`.
 * @example
 *   const { dgamma, dbeta } = makeParamGrads(dout, cache.xhat);
 *   dbeta.length; // D
 */
export function makeParamGrads(dout: Tensor, xhat: Tensor): { dgamma: Float64Array; dbeta: Float64Array } {
  const [n, d] = xhat.shape as [number, number];
  const dbeta = columnSums(dout.data, n, d);
  const dgamma = columnSums(
    dout.data.map((g, k) => g * xhat.data[k]),
    n,
    d,
  );
  return { dgamma, dbeta };
}
