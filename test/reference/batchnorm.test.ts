// The seed's batchnorm cells 3-6 as tests: train/test forward statistics, gradient checks, graph vs closed form.
import { describe, expect, it } from 'vitest';
import {
  backwardBatchNormalization,
  backwardBatchNormalizationAlternative,
  evalNumericalGradientArray,
  forwardBatchNormalization,
  makeBnParam,
  makeRng,
  makeTensor,
  relError,
} from '../../src/reference/index.ts';
import type { BnParam, Rng, Tensor } from '../../src/reference/index.ts';

/** Plain triple-loop a · b for row-major [n, k] · [k, m]. */
function matmul(a: Tensor, b: Tensor): Tensor {
  const [n, k] = a.shape;
  const m = b.shape[1];
  const out = makeTensor([n, m]);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.data[i * k + p] * b.data[p * m + j];
      out.data[i * m + j] = s;
    }
  return out;
}

/** Per-column mean and population (ddof = 0, numpy's default) variance of an [n, d] tensor. */
function columnStats(t: Tensor): { mean: number[]; variance: number[] } {
  const [n, d] = t.shape;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += t.data[i * d + j];
    const m = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) q += (t.data[i * d + j] - m) ** 2;
    mean.push(m);
    variance.push(q / n);
  }
  return { mean, variance };
}

/** The seed's simulated two-layer activations: relu(X W1) W2 with X [n, D1] standard normal. */
function activations(rng: Rng, n: number, w1: Tensor, w2: Tensor): Tensor {
  const h = matmul(rng.randnTensor([n, w1.shape[0]]), w1);
  h.data.forEach((v, i) => (h.data[i] = Math.max(0, v)));
  return matmul(h, w2);
}

describe('forwardBatchNormalization, train mode (seed cell 3)', () => {
  const rng = makeRng(3);
  const [N, D1, D2, D3] = [200, 50, 60, 3];
  const a = activations(rng, N, rng.randnTensor([D1, D2]), rng.randnTensor([D2, D3]));
  const before = columnStats(a);

  it('starts from activations that are far from normalized', () => {
    expect(Math.max(...before.variance.map(Math.sqrt))).toBeGreaterThan(5);
  });

  it('gives per-feature mean 0 and std sqrt(var / (var + eps)) ~ 1 with gamma = 1, beta = 0', () => {
    const { out } = forwardBatchNormalization(a, new Float64Array(D3).fill(1), new Float64Array(D3), { mode: 'train' });
    const after = columnStats(out);
    for (let j = 0; j < D3; j++) {
      expect(Math.abs(after.mean[j])).toBeLessThan(1e-10);
      expect(Math.abs(Math.sqrt(after.variance[j]) - 1)).toBeLessThan(1e-6);
      // Exactly (up to rounding) the eps-shrunk std: the seed printed 0.99999999.
      const expected = Math.sqrt(before.variance[j] / (before.variance[j] + 1e-5));
      expect(relError(Math.sqrt(after.variance[j]), expected)).toBeLessThan(1e-12);
    }
  });

  it('gives means beta and stds gamma with gamma = [1, 2, 3], beta = [11, 12, 13]', () => {
    const gamma = Float64Array.of(1, 2, 3);
    const beta = Float64Array.of(11, 12, 13);
    const { out } = forwardBatchNormalization(a, gamma, beta, { mode: 'train' });
    const after = columnStats(out);
    for (let j = 0; j < D3; j++) {
      expect(Math.abs(after.mean[j] - beta[j])).toBeLessThan(1e-10);
      expect(Math.abs(Math.sqrt(after.variance[j]) - gamma[j])).toBeLessThan(1e-6 * gamma[j]);
    }
  });

  it('matches the formula written out element by element', () => {
    const gamma = Float64Array.of(0.5, -2, 3);
    const beta = Float64Array.of(1, 0, -1);
    const { out, cache } = forwardBatchNormalization(a, gamma, beta, { mode: 'train' });
    for (let i = 0; i < N; i += 37)
      for (let j = 0; j < D3; j++) {
        const expected = (gamma[j] * (a.data[i * D3 + j] - before.mean[j])) / Math.sqrt(before.variance[j] + 1e-5) + beta[j];
        expect(relError(out.data[i * D3 + j], expected)).toBeLessThan(1e-12);
      }
    expect(relError(cache.mu, before.mean)).toBeLessThan(1e-12);
    expect(relError(cache.var, before.variance)).toBeLessThan(1e-12);
  });
});

describe('forwardBatchNormalization, test mode (seed cell 4)', () => {
  const rng = makeRng(4);
  const [N, D1, D2, D3] = [200, 50, 60, 3];
  const w1 = rng.randnTensor([D1, D2]);
  const w2 = rng.randnTensor([D2, D3]);
  const gamma = new Float64Array(D3).fill(1);
  const beta = new Float64Array(D3);
  const bnParam: BnParam = { mode: 'train' };
  // The momentum recurrence, rolled by hand from each batch's own statistics.
  const mean = [0, 0, 0];
  const variance = [0, 0, 0];
  for (let t = 0; t < 50; t++) {
    const a = activations(rng, N, w1, w2);
    forwardBatchNormalization(a, gamma, beta, bnParam);
    const s = columnStats(a);
    for (let j = 0; j < D3; j++) {
      mean[j] = 0.9 * mean[j] + 0.1 * s.mean[j];
      variance[j] = 0.9 * variance[j] + 0.1 * s.variance[j];
    }
  }

  it('writes the running statistics back into bnParam, equal to the momentum recurrence', () => {
    expect(bnParam.runningMean).toBeInstanceOf(Float64Array);
    expect(bnParam.runningVar).toBeInstanceOf(Float64Array);
    expect(relError(bnParam.runningMean!, mean)).toBeLessThan(1e-12);
    expect(relError(bnParam.runningVar!, variance)).toBeLessThan(1e-12);
  });

  it('normalizes a fresh batch to means near 0 and stds near 1 with the running statistics', () => {
    bnParam.mode = 'test';
    const savedMean = Float64Array.from(bnParam.runningMean!);
    const savedVar = Float64Array.from(bnParam.runningVar!);
    const a = activations(rng, N, w1, w2);
    const { out } = forwardBatchNormalization(a, gamma, beta, bnParam);
    const after = columnStats(out);
    for (let j = 0; j < D3; j++) {
      expect(Math.abs(after.mean[j])).toBeLessThan(0.2);
      expect(Math.abs(Math.sqrt(after.variance[j]) - 1)).toBeLessThan(0.2);
    }
    for (let k = 0; k < out.data.length; k += 29) {
      const j = k % D3;
      expect(relError(out.data[k], (a.data[k] - mean[j]) / Math.sqrt(variance[j] + 1e-5))).toBeLessThan(1e-10);
    }
    expect(bnParam.runningMean).toEqual(savedMean);
    expect(bnParam.runningVar).toEqual(savedVar);
  });

  it('honours custom eps and momentum', () => {
    const x = makeTensor([2, 1], [1, 3]); // mean 2, biased variance 1
    const p: BnParam = { mode: 'train', eps: 0.44, momentum: 0.5, runningMean: Float64Array.of(4), runningVar: Float64Array.of(3) };
    const { out } = forwardBatchNormalization(x, Float64Array.of(1), Float64Array.of(0), p);
    expect(relError(out.data, [-1 / 1.2, 1 / 1.2])).toBeLessThan(1e-15);
    expect(relError(p.runningMean!, [0.5 * 4 + 0.5 * 2])).toBe(0);
    expect(relError(p.runningVar!, [0.5 * 3 + 0.5 * 1])).toBe(0);
  });
});

describe('backward passes', () => {
  const variants = { graph: backwardBatchNormalization, alternative: backwardBatchNormalizationAlternative };

  for (const [name, backward] of Object.entries(variants)) {
    it(`${name}: dx, dgamma, dbeta match numerical gradients (seed cell 5)`, () => {
      const rng = makeRng(5);
      const [N, D] = [4, 5];
      const x = rng.randnTensor([N, D], 5, 12);
      const gamma = rng.randnTensor([D]).data;
      const beta = rng.randnTensor([D]).data;
      const dout = rng.randnTensor([N, D]);
      const bnParam = makeBnParam('train');
      const f = (): Float64Array => forwardBatchNormalization(x, gamma, beta, bnParam).out.data;
      const dxNum = evalNumericalGradientArray(f, x.data, dout.data);
      const dgammaNum = evalNumericalGradientArray(f, gamma, dout.data);
      const dbetaNum = evalNumericalGradientArray(f, beta, dout.data);
      const { cache } = forwardBatchNormalization(x, gamma, beta, bnParam);
      const { dx, dgamma, dbeta } = backward(dout, cache);
      expect(dx.shape).toEqual([N, D]);
      expect(relError(dxNum, dx.data)).toBeLessThan(1e-7);
      expect(relError(dgammaNum, dgamma)).toBeLessThan(1e-7);
      expect(relError(dbetaNum, dbeta)).toBeLessThan(1e-7);
    });
  }

  it('the closed form equals the staged graph (seed cell 6, N = 100, D = 500)', () => {
    const rng = makeRng(6);
    const [N, D] = [100, 500];
    const x = rng.randnTensor([N, D], 5, 12);
    const gamma = rng.randnTensor([D]).data;
    const beta = rng.randnTensor([D]).data;
    const dout = rng.randnTensor([N, D]);
    const { cache } = forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
    const g1 = backwardBatchNormalization(dout, cache);
    const g2 = backwardBatchNormalizationAlternative(dout, cache);
    expect(relError(g1.dx.data, g2.dx.data)).toBeLessThan(1e-10);
    expect(relError(g1.dgamma, g2.dgamma)).toBeLessThan(1e-10);
    expect(relError(g1.dbeta, g2.dbeta)).toBeLessThan(1e-10);
  });

  it('refuses a test-mode cache and a dout of the wrong shape', () => {
    const x = makeRng(7).randnTensor([3, 2]);
    const gamma = Float64Array.of(1, 1);
    const beta = Float64Array.of(0, 0);
    const { cache } = forwardBatchNormalization(x, gamma, beta, {
      mode: 'test',
      runningMean: new Float64Array(2),
      runningVar: Float64Array.of(1, 1),
    });
    expect(() => backwardBatchNormalization(x, cache)).toThrow(/backwardBatchNormalization: .*test-mode/);
    expect(() => backwardBatchNormalizationAlternative(x, cache)).toThrow(/test-mode/);
    const train = forwardBatchNormalization(x, gamma, beta, { mode: 'train' }).cache;
    expect(() => backwardBatchNormalization(makeTensor([2, 3]), train)).toThrow(
      'backwardBatchNormalization: dout has shape [2,3], expected [3,2]',
    );
  });
});

describe('forwardBatchNormalization input checks', () => {
  const x = makeTensor([4, 3]);
  const ones = Float64Array.of(1, 1, 1);
  const zeros = Float64Array.of(0, 0, 0);

  it('names the function, argument and both shapes', () => {
    expect(() => forwardBatchNormalization(makeTensor([4, 3, 1]), ones, zeros, { mode: 'train' })).toThrow(
      'forwardBatchNormalization: x has shape [4,3,1], expected [?,?]',
    );
    expect(() => forwardBatchNormalization(x, Float64Array.of(1, 1), zeros, { mode: 'train' })).toThrow(
      'forwardBatchNormalization: gamma has shape [2], expected [3]',
    );
    expect(() => forwardBatchNormalization(x, ones, zeros, { mode: 'train', runningMean: new Float64Array(5) })).toThrow(
      'forwardBatchNormalization: bnParam.runningMean has shape [5], expected [3]',
    );
  });

  it('rejects a bad mode and unknown bnParam keys', () => {
    expect(() => forwardBatchNormalization(x, ones, zeros, { mode: 'eval' } as unknown as BnParam)).toThrow(
      /mode must be "train" or "test"/,
    );
    expect(() => forwardBatchNormalization(x, ones, zeros, { mode: 'train', running_mean: zeros } as unknown as BnParam)).toThrow(
      /unknown bnParam key "running_mean"/,
    );
  });
});
