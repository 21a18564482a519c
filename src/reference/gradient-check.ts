// Numerical gradients by centered differences and the seed's relative error, for checking analytic gradients.

/**
 * Numerical gradient of a scalar function at x: `(f(x + h e_i) - f(x - h e_i)) / 2h` for each i.
 * x is perturbed IN PLACE (so f may read x through a closure, e.g. a model parameter) and restored.
 * @example
 *   const g = evalNumericalGradient(() => net.loss(X, y).loss, net.params.W1.data);
 *   relError(g, net.loss(X, y).grads.W1.data); // < 1e-7 or so
 */
export function evalNumericalGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    try {
      x[i] = old + h;
      const fxph = f(x);
      x[i] = old - h;
      const fxmh = f(x);
      grad[i] = (fxph - fxmh) / (2 * h);
    } finally {
      x[i] = old;
    }
  }
  return grad;
}

/**
 * Numerical gradient of `sum(f(x) * dout)` at x, for an array-valued f (a layer's forward, with
 * `dout` the upstream gradient): the vector-Jacobian product that a backward pass computes.
 * x is perturbed in place and restored.
 * @example
 *   const dxNum = evalNumericalGradientArray(() => reluForward(x).out.data, x.data, dout.data);
 *   relError(dxNum, reluBackward(dout, reluForward(x).cache).data);
 */
export function evalNumericalGradientArray(
  f: (x: Float64Array) => Float64Array,
  x: Float64Array,
  dout: Float64Array,
  h = 1e-5,
): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    try {
      x[i] = old + h;
      const pos = Float64Array.from(f(x)); // copied, in case f returns a buffer it reuses
      x[i] = old - h;
      const neg = f(x);
      if (pos.length !== dout.length || neg.length !== dout.length) {
        throw new Error(`evalNumericalGradientArray: f returned ${pos.length} values, dout has ${dout.length}`);
      }
      let s = 0;
      for (let k = 0; k < dout.length; k++) s += (pos[k] - neg[k]) * dout[k];
      grad[i] = s / (2 * h);
    } finally {
      x[i] = old;
    }
  }
  return grad;
}

/**
 * The seed's `rel_error`: `max_i |x_i - y_i| / max(1e-8, |x_i| + |y_i|)`, for two numbers or two
 * equally long arrays (Float32Array, Float64Array, number[]); 0 for empty arrays.
 * @example
 *   relError(1, 1.001);                    // ~5e-4
 *   relError(Float32Array.of(1, 2), [1, 2]); // 0
 */
export function relError(x: number | ArrayLike<number>, y: number | ArrayLike<number>): number {
  const xs = typeof x === 'number' ? [x] : x;
  const ys = typeof y === 'number' ? [y] : y;
  if (xs.length !== ys.length) throw new Error(`relError: x has ${xs.length} elements, y has ${ys.length}`);
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const e = Math.abs(xs[i] - ys[i]) / Math.max(1e-8, Math.abs(xs[i]) + Math.abs(ys[i]));
    if (!(e <= worst)) worst = e; // NaN propagates, as in numpy
  }
  return worst;
}
