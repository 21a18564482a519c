// Batch normalization (Ioffe & Szegedy, ICML 2015) in float64: forward in train and test mode, and
// its backward both as the staged computational graph and in closed form.
import { assertLength, assertShape, columnSums, makeTensor } from './tensor.ts';
import type { Tensor } from './tensor.ts';
import { checkNormArgs, makeParamGrads, type NormCache } from './norm-common.ts';

/**
 * Per-layer batchnorm settings and state, the seed's `bn_param`. `runningMean`/`runningVar` start as
 * zeros of length D on first use and are updated in place (and written back here) by every train-mode
 * forward: `r = momentum * r + (1 - momentum) * batchStat`. Test mode normalizes with them.
 */
export interface BnParam {
  mode: 'train' | 'test';
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** Weight of the old running value; default 0.9. */
  momentum?: number;
  runningMean?: Float64Array;
  runningVar?: Float64Array;
}

/**
 * What `forwardBatchNormalization` keeps for the backward passes: the graph's intermediate nodes.
 * In train mode `mu`/`var` are the batch mean and biased batch variance; in test mode they are
 * copies of the running statistics (and the backward passes refuse the cache).
 */
export interface BatchNormCache extends NormCache {
  mode: 'train' | 'test';
  /** `x - mu`, [N, D] row-major. */
  xmu: Float64Array;
  /** `sqrt(var + eps)`, [D] (the sigma of the closed form; ivar is `1 / sqrtvar`). */
  sqrtvar: Float64Array;
}

const BN_PARAM_KEYS = new Set(['mode', 'eps', 'momentum', 'runningMean', 'runningVar']);

/**
 * A fresh `BnParam` (defaults eps 1e-5, momentum 0.9); given `numFeatures`, its running statistics
 * are allocated as zeros now rather than on first use.
 * @example
 *   const bnParam = makeBnParam('train', 3);
 *   forwardBatchNormalization(x, gamma, beta, bnParam); // updates bnParam.runningMean / runningVar
 */
export function makeBnParam(mode: 'train' | 'test' = 'train', numFeatures?: number): BnParam {
  if (numFeatures === undefined) return { mode };
  return { mode, runningMean: new Float64Array(numFeatures), runningVar: new Float64Array(numFeatures) };
}

/** Checks bnParam's keys and values, fills the running statistics, and returns eps and momentum. */
function readBnParam(bnParam: BnParam, d: number): Required<Omit<BnParam, 'mode'>> {
  const fn = 'forwardBatchNormalization';
  for (const key of Object.keys(bnParam)) {
    if (!BN_PARAM_KEYS.has(key)) {
      throw new Error(`${fn}: unknown bnParam key "${key}" (expected ${[...BN_PARAM_KEYS].join(', ')})`);
    }
  }
  if (bnParam.mode !== 'train' && bnParam.mode !== 'test') {
    throw new Error(`${fn}: bnParam.mode must be "train" or "test", got ${JSON.stringify(bnParam.mode)}`);
  }
  const eps = bnParam.eps ?? 1e-5;
  const momentum = bnParam.momentum ?? 0.9;
  if (!(eps >= 0 && Number.isFinite(eps))) throw new Error(`${fn}: bnParam.eps must be finite and >= 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${fn}: bnParam.momentum must be in [0, 1], got ${momentum}`);
  bnParam.runningMean ??= new Float64Array(d);
  bnParam.runningVar ??= new Float64Array(d);
  assertLength(fn, 'bnParam.runningMean', bnParam.runningMean, d);
  assertLength(fn, 'bnParam.runningVar', bnParam.runningVar, d);
  return { eps, momentum, runningMean: bnParam.runningMean, runningVar: bnParam.runningVar };
}

/**
 * Batchnorm forward for x [N, D]: `out = gamma * (x - mu) / sqrt(var + eps) + beta` per feature.
 * Train mode uses the batch mean and biased batch variance (two-pass) and updates the running
 * statistics in `bnParam`; test mode uses the running statistics and changes nothing.
 * @example
 *   const bnParam: BnParam = { mode: 'train' };
 *   const { out, cache } = forwardBatchNormalization(x, gamma, beta, bnParam); // out: [N, D]
 */
export function forwardBatchNormalization(
  x: Tensor,
  gamma: Float64Array,
  beta: Float64Array,
  bnParam: BnParam,
): { out: Tensor; cache: BatchNormCache } {
  const fn = 'forwardBatchNormalization';
  const [n, d] = checkNormArgs(fn, x, gamma, beta);
  const { eps, momentum, runningMean, runningVar } = readBnParam(bnParam, d);
  const train = bnParam.mode === 'train';
  if (train && n < 1) throw new Error(`${fn}: train mode needs at least one row, x has shape [${n},${d}]`);

  // Node 1, mu: the per-feature mean (the running mean in test mode).
  const mu = train ? columnSums(x.data, n, d).map((s) => s / n) : Float64Array.from(runningMean);
  // Node 2, xmu = x - mu.
  const xmu = x.data.map((v, k) => v - mu[k % d]);
  // Nodes 3-4, sq = xmu^2 and var = mean(sq): the biased batch variance, second pass (running var in test mode).
  const variance = train
    ? columnSums(
        xmu.map((v) => v * v),
        n,
        d,
      ).map((s) => s / n)
    : Float64Array.from(runningVar);
  // Node 5, sqrtvar = sqrt(var + eps); node 6, ivar = 1 / sqrtvar.
  const sqrtvar = variance.map((v) => Math.sqrt(v + eps));
  const ivar = sqrtvar.map((s) => 1 / s);
  // Node 7, xhat = xmu * ivar.
  const xhat = makeTensor(
    [n, d],
    xmu.map((v, k) => v * ivar[k % d]),
  );
  // Nodes 8-9, gammax = gamma * xhat and out = gammax + beta.
  const out = makeTensor(
    [n, d],
    xhat.data.map((v, k) => gamma[k % d] * v + beta[k % d]),
  );

  if (train) {
    for (let j = 0; j < d; j++) {
      runningMean[j] = momentum * runningMean[j] + (1 - momentum) * mu[j];
      runningVar[j] = momentum * runningVar[j] + (1 - momentum) * variance[j];
    }
  }
  const cache: BatchNormCache = {
    mode: bnParam.mode,
    x,
    gamma: Float64Array.from(gamma),
    beta: Float64Array.from(beta),
    eps,
    mu,
    var: variance,
    xmu,
    sqrtvar,
    ivar,
    xhat,
  };
  return { out, cache };
}

/** Checks a backward call's cache mode and dout shape; returns [N, D]. */
function checkBackward(fn: string, dout: Tensor, cache: BatchNormCache): [number, number] {
  if (cache.mode !== 'train') {
    throw new Error(`${fn}: the cache comes from a test-mode forward; backward is defined for train mode only`);
  }
  assertShape(fn, 'dout', dout.shape, cache.x.shape);
  return [cache.x.shape[0], cache.x.shape[1]];
}

/**
 * Batchnorm backward as the staged computational graph (cs231n; F. Kratzert's derivation): each
 * forward node, taken in reverse, turns the gradient of its output into the gradients of its inputs.
 * @example
 *   const { out, cache } = forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
 *   const { dx, dgamma, dbeta } = backwardBatchNormalization(dout, cache);
 */
export function backwardBatchNormalization(dout: Tensor, cache: BatchNormCache): { dx: Tensor; dgamma: Float64Array; dbeta: Float64Array } {
  const [n, d] = checkBackward('backwardBatchNormalization', dout, cache);
  const { gamma, var: variance, eps, xmu, sqrtvar, ivar, xhat } = cache;

  // Node 9, out = gammax + beta: dbeta = sum_i dout, dgammax = dout.
  const dbeta = columnSums(dout.data, n, d);
  const dgammax = dout.data;
  // Node 8, gammax = gamma * xhat: dgamma = sum_i dgammax * xhat, dxhat = dgammax * gamma.
  const dgamma = columnSums(
    dgammax.map((g, k) => g * xhat.data[k]),
    n,
    d,
  );
  const dxhat = dgammax.map((g, k) => g * gamma[k % d]);
  // Node 7, xhat = xmu * ivar: divar = sum_i dxhat * xmu, dxmu1 = dxhat * ivar.
  const divar = columnSums(
    dxhat.map((g, k) => g * xmu[k]),
    n,
    d,
  );
  const dxmu1 = dxhat.map((g, k) => g * ivar[k % d]);
  // Node 6, ivar = 1 / sqrtvar: dsqrtvar = -1 / sqrtvar^2 * divar.
  const dsqrtvar = divar.map((g, j) => (-1 / (sqrtvar[j] * sqrtvar[j])) * g);
  // Node 5, sqrtvar = sqrt(var + eps): dvar = 0.5 / sqrt(var + eps) * dsqrtvar.
  const dvar = dsqrtvar.map((g, j) => (0.5 / Math.sqrt(variance[j] + eps)) * g);
  // Node 4, var = 1/N sum_i sq: dsq = dvar / N, the same for every row.
  const dsq = dvar.map((g) => g / n);
  // Node 3, sq = xmu^2: dxmu2 = 2 * xmu * dsq.
  const dxmu2 = xmu.map((v, k) => 2 * v * dsq[k % d]);
  // Node 2, xmu = x - mu: dx1 = dxmu1 + dxmu2, dmu = -sum_i (dxmu1 + dxmu2).
  const dx1 = dxmu1.map((g, k) => g + dxmu2[k]);
  const dmu = columnSums(dx1, n, d).map((s) => -s);
  // Node 1, mu = 1/N sum_i x: dx2 = dmu / N for every row; x feeds nodes 1 and 2, so dx = dx1 + dx2.
  const dx = makeTensor(
    [n, d],
    dx1.map((g, k) => g + dmu[k % d] / n),
  );
  return { dx, dgamma, dbeta };
}

/**
 * Batchnorm backward in closed form: `dx = gamma / (N * sigma) * (N * dout - sum_i dout - xhat * sum_i (dout * xhat))`
 * with `sigma = sqrt(var + eps)`; `dgamma = sum_i dout * xhat`, `dbeta = sum_i dout`. Same results as the graph.
 * @example
 *   const { cache } = forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
 *   const { dx } = backwardBatchNormalizationAlternative(dout, cache);
 */
export function backwardBatchNormalizationAlternative(
  dout: Tensor,
  cache: BatchNormCache,
): { dx: Tensor; dgamma: Float64Array; dbeta: Float64Array } {
  const [n, d] = checkBackward('backwardBatchNormalizationAlternative', dout, cache);
  const { gamma, sqrtvar, xhat } = cache;
  const { dgamma, dbeta } = makeParamGrads(dout, xhat);
  const dx = makeTensor(
    [n, d],
    dout.data.map((g, k) => {
      const j = k % d;
      return (gamma[j] / (n * sqrtvar[j])) * (n * g - dbeta[j] - xhat.data[k] * dgamma[j]);
    }),
  );
  return { dx, dgamma, dbeta };
}
