// The float64 answers of the normalizations (batchnorm, layer norm) and the measure of a GPU run's outputs against them,
// shared by the self-test's cases (selftest-norms.ts) and the e2e kernel specs, which import it into the page.
import { reference as ref } from '../../src/index.ts';
import { boundedError, relErr } from './error-measures.ts';

// Each error is relative to the magnitude of the operands that were rounded (|diff| / mag elementwise, mag >= |ref|):
// with N = 2 (batchnorm) or D = 2 (layer norm) the true dx is ~eps/var times its terms, so f32 can only promise
// accuracy relative to those terms, not to dx itself. Per element, with m(xhat) = |xhat| + |x| invStd (xhat's own
// magnitude: the backward reads the GPU forward's xhat) and the statistics per feature j (batchnorm) or row i (layer norm):
//   out:   |gamma_j| m(xhat) + |beta_j|
//   dbeta: sum_i |dout|                   dgamma: sum_i |dout| m(xhat)
//   dx (batchnorm):  |gamma_j| invStd_j / N (N |dout| + sum_i |dout| + m(xhat) sum_i |dout| m(xhat))
//   dx (layer norm): invStd_i / D (D |g| + sum_j |g| + m(xhat) sum_j |g| m(xhat)), g = dout gamma
// The statistics (mean, invStd: far from 0) take the seed's relError.

/** What a normalization's kernels leave: the forward's out and saved xhat, mean and invStd; the backward's dx, dgamma, dbeta. */
export interface NormOutputs {
  out: ArrayLike<number>;
  xhat: ArrayLike<number>;
  mean: ArrayLike<number>;
  invStd: ArrayLike<number>;
  dx: ArrayLike<number>;
  dgamma: ArrayLike<number>;
  dbeta: ArrayLike<number>;
}

/** What both references' caches hold: xhat [N, D], and the mean and invStd per feature (batchnorm) or per row (layer norm). */
type NormStatistics = { xhat: ref.Tensor; mu: Float64Array; ivar: Float64Array };

/** The float64 answers of one normalization and the measure of a GPU run's outputs against them. */
export interface NormCheck<Cache extends NormStatistics = NormStatistics> {
  /** The float64 forward the answers come from (its `out` and `cache`). */
  forward: { out: ref.Tensor; cache: Cache };
  /** The answers by name; the gradients only where a dout was given. */
  want: Partial<NormOutputs>;
  /** The error of each output given against its answer (NaN fails: Infinity). */
  measure<K extends keyof NormOutputs>(got: Pick<NormOutputs, K>): Record<K, number>;
}

type Grads = { dx: ref.Tensor; dgamma: Float64Array; dbeta: Float64Array };

function makeNormCheck<Cache extends NormStatistics>(
  kind: 'batchnorm' | 'layernorm',
  x: ref.Tensor,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  forward: NormCheck<Cache>['forward'],
  backward?: { dout: ref.Tensor; grads: Grads },
): NormCheck<Cache> {
  const [n, d] = x.shape as [number, number];
  const { xhat, mu, ivar } = forward.cache;
  const stat = kind === 'batchnorm' ? (k: number) => k % d : (k: number) => Math.floor(k / d);
  const xhatMag = (k: number) => Math.abs(xhat.data[k]!) + Math.abs(x.data[k]!) * ivar[stat(k)]!;
  const mag: Partial<Record<keyof NormOutputs, (k: number) => number>> = {
    out: (k) => Math.abs(gamma[k % d]!) * xhatMag(k) + Math.abs(beta[k % d]!),
    xhat: xhatMag,
  };
  const want: Partial<NormOutputs> = { out: forward.out.data, xhat: xhat.data, mean: mu, invStd: ivar };
  if (backward) {
    const dout = backward.dout.data;
    const [absDbeta, absDgamma, rowAbs, rowAbsX] = [new Float64Array(d), new Float64Array(d), new Float64Array(n), new Float64Array(n)];
    for (let k = 0; k < n * d; k++) {
      const g = Math.abs(dout[k]! * gamma[k % d]!);
      absDbeta[k % d] += Math.abs(dout[k]!);
      absDgamma[k % d] += Math.abs(dout[k]!) * xhatMag(k);
      rowAbs[Math.floor(k / d)] += g;
      rowAbsX[Math.floor(k / d)] += g * xhatMag(k);
    }
    mag.dx =
      kind === 'batchnorm'
        ? (k) => {
            const j = k % d;
            return ((Math.abs(gamma[j]!) * ivar[j]!) / n) * (n * Math.abs(dout[k]!) + absDbeta[j]! + xhatMag(k) * absDgamma[j]!);
          }
        : (k) => {
            const i = Math.floor(k / d);
            return (ivar[i]! / d) * (d * Math.abs(dout[k]! * gamma[k % d]!) + rowAbs[i]! + xhatMag(k) * rowAbsX[i]!);
          };
    mag.dgamma = (j) => absDgamma[j]!;
    mag.dbeta = (j) => absDbeta[j]!;
    Object.assign(want, { dx: backward.grads.dx.data, dgamma: backward.grads.dgamma, dbeta: backward.grads.dbeta });
  }
  return {
    forward,
    want,
    measure(got) {
      const errors = {} as Record<keyof typeof got, number>;
      for (const key of Object.keys(got) as (keyof typeof got)[]) {
        const answer = want[key];
        if (!answer) throw new Error(`${kind} check: no float64 answer for ${key} (the gradients need a dout)`);
        const m = mag[key];
        errors[key] = m ? boundedError(got[key], answer, m) : relErr(got[key], answer);
      }
      return errors;
    },
  };
}

/**
 * Batchnorm forward of x [N, D] in `bnParam`'s mode (its running statistics moved in train mode, as the seed's are), and
 * with `dout` its backward (the staged graph's answer), in float64; `measure` takes what the GPU left, by name.
 *   const check = makeBatchNormCheck(x, gamma, beta, bnParam, dout);
 *   check.measure({ out, xhat, mean, invStd, dx, dgamma, dbeta }).dx; // < 1e-4 in the specs
 */
export function makeBatchNormCheck(
  x: ref.Tensor,
  gamma: Float64Array,
  beta: Float64Array,
  bnParam: ref.BnParam = { mode: 'train' },
  dout?: ref.Tensor,
): NormCheck<ref.BatchNormCache> {
  const forward = ref.forwardBatchNormalization(x, gamma, beta, bnParam);
  const backward = dout && { dout, grads: ref.backwardBatchNormalization(dout, forward.cache) };
  return makeNormCheck('batchnorm', x, gamma, beta, forward, backward);
}

/**
 * Layer norm forward of x [N, D] and, with `dout`, its backward, in float64; `measure` takes what the GPU left, by name.
 *   const check = makeLayerNormCheck(x, gamma, beta, dout);
 *   check.measure({ out, xhat, mean, invStd, dx, dgamma, dbeta }).out; // < 1e-5 in the specs
 */
export function makeLayerNormCheck(
  x: ref.Tensor,
  gamma: Float64Array,
  beta: Float64Array,
  dout?: ref.Tensor,
): NormCheck<ref.LayerNormCache> {
  const forward = ref.forwardLayerNormalization(x, gamma, beta, {});
  const backward = dout && { dout, grads: ref.backwardLayerNormalization(dout, forward.cache) };
  return makeNormCheck('layernorm', x, gamma, beta, forward, backward);
}
