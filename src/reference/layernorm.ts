// Layer normalization (Ba, Kiros & Hinton, arXiv 1607.06450; cs231n layernorm_forward/backward) in float64.
import { assertShape, makeTensor } from './tensor.ts';
import type { Tensor } from './tensor.ts';
import { checkNormArgs, makeParamGrads, type NormCache } from './norm-common.ts';

/** The seed-style `ln_param`: only eps (default 1e-5); there are no running statistics and no mode. */
export interface LnParam {
  eps?: number;
}

/** What `forwardLayerNormalization` keeps for the backward pass; statistics (mu, var, ivar) are per ROW (example), [N]. */
export type LayerNormCache = NormCache;

/**
 * Layer norm forward for x [N, D]: each row is normalized over its own D features,
 * `out = gamma * (x - mu_i) / sqrt(var_i + eps) + beta`, with gamma and beta per feature [D].
 * The same in training and at test time (nothing depends on the other rows of the batch).
 * @example
 *   const { out, cache } = forwardLayerNormalization(x, gamma, beta, { eps: 1e-5 }); // out: [N, D]
 *   backwardLayerNormalization(dout, cache);
 */
export function forwardLayerNormalization(
  x: Tensor,
  gamma: Float64Array,
  beta: Float64Array,
  lnParam: LnParam = {},
): { out: Tensor; cache: LayerNormCache } {
  const fn = 'forwardLayerNormalization';
  const [n, d] = checkNormArgs(fn, x, gamma, beta);
  for (const key of Object.keys(lnParam)) {
    if (key !== 'eps')
      throw new Error(`${fn}: unknown lnParam key "${key}" (expected eps; layer norm has no mode and no running statistics)`);
  }
  const eps = lnParam.eps ?? 1e-5;
  if (!(eps >= 0 && Number.isFinite(eps))) throw new Error(`${fn}: lnParam.eps must be finite and >= 0, got ${eps}`);
  if (d < 1) throw new Error(`${fn}: x has shape [${n},${d}]; layer norm needs at least one feature per row`);

  const mu = new Float64Array(n);
  const variance = new Float64Array(n);
  const ivar = new Float64Array(n);
  const xhat = makeTensor([n, d]);
  const out = makeTensor([n, d]);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x.data[i * d + j];
    mu[i] = s / d;
    let q = 0;
    for (let j = 0; j < d; j++) q += (x.data[i * d + j] - mu[i]) ** 2; // two-pass: never E[x^2] - E[x]^2
    variance[i] = q / d;
    ivar[i] = 1 / Math.sqrt(variance[i] + eps);
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      xhat.data[k] = (x.data[k] - mu[i]) * ivar[i];
      out.data[k] = gamma[j] * xhat.data[k] + beta[j];
    }
  }
  const cache: LayerNormCache = {
    x,
    gamma: Float64Array.from(gamma),
    beta: Float64Array.from(beta),
    eps,
    mu,
    var: variance,
    ivar,
    xhat,
  };
  return { out, cache };
}

/**
 * Layer norm backward in closed form. Per row i, with `dxhat = dout * gamma` and `sigma_i = sqrt(var_i + eps)`:
 * `dx = 1 / (D sigma_i) * (D dxhat - sum_j dxhat - xhat * sum_j dxhat xhat)` (the row sums run over features);
 * `dgamma = sum_i dout * xhat`, `dbeta = sum_i dout` (column sums, as for batchnorm).
 * @example
 *   const { cache } = forwardLayerNormalization(x, gamma, beta, {});
 *   const { dx, dgamma, dbeta } = backwardLayerNormalization(dout, cache);
 */
export function backwardLayerNormalization(dout: Tensor, cache: LayerNormCache): { dx: Tensor; dgamma: Float64Array; dbeta: Float64Array } {
  assertShape('backwardLayerNormalization', 'dout', dout.shape, cache.x.shape);
  const [n, d] = cache.x.shape;
  const { gamma, ivar, xhat } = cache;
  const { dgamma, dbeta } = makeParamGrads(dout, xhat);
  const dx = makeTensor([n, d]);
  for (let i = 0; i < n; i++) {
    let sumA = 0;
    let sumB = 0;
    for (let j = 0; j < d; j++) {
      const g = dout.data[i * d + j] * gamma[j];
      sumA += g;
      sumB += g * xhat.data[i * d + j];
    }
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      dx.data[k] = (ivar[i] / d) * (d * dout.data[k] * gamma[j] - sumA - xhat.data[k] * sumB);
    }
  }
  return { dx, dgamma, dbeta };
}
