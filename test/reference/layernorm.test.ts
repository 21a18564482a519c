// Layer normalization in float64: per-row statistics, independence from the batch, numerical gradients (cs231n's checks).
import { describe, expect, it } from 'vitest';
import {
  backwardBatchNormalizationAlternative,
  backwardLayerNormalization,
  evalNumericalGradientArray,
  forwardBatchNormalization,
  forwardLayerNormalization,
  makeRng,
  makeTensor,
  relError,
} from '../../src/reference/index.ts';
import type { LnParam, Tensor } from '../../src/reference/index.ts';

/** The [d, n] transpose of a row-major [n, d] tensor. */
function transpose(t: Tensor): Tensor {
  const [n, d] = t.shape;
  const out = makeTensor([d, n]);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out.data[j * n + i] = t.data[i * d + j];
  return out;
}

/** Per-row mean and population variance. */
function rowStats(t: Tensor): { mean: number[]; variance: number[] } {
  const [n, d] = t.shape;
  const mean: number[] = [];
  const variance: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(t.data.subarray(i * d, (i + 1) * d));
    const m = row.reduce((a, b) => a + b, 0) / d;
    mean.push(m);
    variance.push(row.reduce((a, b) => a + (b - m) ** 2, 0) / d);
  }
  return { mean, variance };
}

describe('forwardLayerNormalization', () => {
  const rng = makeRng(21);
  const [N, D] = [4, 3];
  const x = rng.randnTensor([N, D], 5, 12);

  it('gives every row mean 0 and std ~1 with gamma = 1, beta = 0 (cs231n: "should be close to 0 and 1")', () => {
    const { out } = forwardLayerNormalization(x, new Float64Array(D).fill(1), new Float64Array(D), {});
    const before = rowStats(x);
    const after = rowStats(out);
    for (let i = 0; i < N; i++) {
      expect(Math.abs(after.mean[i])).toBeLessThan(1e-12);
      expect(relError(Math.sqrt(after.variance[i]), Math.sqrt(before.variance[i] / (before.variance[i] + 1e-5)))).toBeLessThan(1e-12);
    }
  });

  it('applies gamma and beta per feature, written out element by element', () => {
    const gamma = Float64Array.of(3, 3, 3);
    const beta = Float64Array.of(5, 5, 5);
    const { out } = forwardLayerNormalization(x, gamma, beta, {});
    const s = rowStats(x);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < D; j++) {
        const want = (3 * (x.data[i * D + j] - s.mean[i])) / Math.sqrt(s.variance[i] + 1e-5) + 5;
        expect(relError(out.data[i * D + j], want)).toBeLessThan(1e-12);
      }
    }
    const after = rowStats(out);
    after.mean.forEach((m) => expect(Math.abs(m - 5)).toBeLessThan(1e-10));
  });

  it('is batchnorm of the transpose (gamma = 1, beta = 0): the other axis', () => {
    const wide = rng.randnTensor([6, 11], 2, -3);
    const ln = forwardLayerNormalization(wide, new Float64Array(11).fill(1), new Float64Array(11), { eps: 1e-3 });
    const bn = forwardBatchNormalization(transpose(wide), new Float64Array(6).fill(1), new Float64Array(6), { mode: 'train', eps: 1e-3 });
    expect(relError(ln.out.data, transpose(bn.out).data)).toBeLessThan(1e-12);
    expect(relError(ln.cache.mu, bn.cache.mu)).toBeLessThan(1e-12);
    expect(relError(ln.cache.var, bn.cache.var)).toBeLessThan(1e-12);
  });

  it('normalizes each row on its own: one row alone gives the same output as in the batch', () => {
    const gamma = rng.randnTensor([D]).data;
    const beta = rng.randnTensor([D]).data;
    const all = forwardLayerNormalization(x, gamma, beta, {}).out;
    for (let i = 0; i < N; i++) {
      const row = makeTensor([1, D], x.data.subarray(i * D, (i + 1) * D));
      expect(forwardLayerNormalization(row, gamma, beta, {}).out.data).toEqual(all.data.subarray(i * D, (i + 1) * D));
    }
  });

  it('rejects bad shapes and unknown lnParam keys, naming them', () => {
    const ones = Float64Array.of(1, 1, 1);
    expect(() => forwardLayerNormalization(makeTensor([2, 3, 1]), ones, ones, {})).toThrow(
      'forwardLayerNormalization: x has shape [2,3,1], expected [?,?]',
    );
    expect(() => forwardLayerNormalization(x, Float64Array.of(1, 1), ones, {})).toThrow(
      'forwardLayerNormalization: gamma has shape [2], expected [3]',
    );
    expect(() => forwardLayerNormalization(x, ones, ones, { mode: 'train' } as unknown as LnParam)).toThrow(/unknown lnParam key "mode"/);
    expect(() => forwardLayerNormalization(x, ones, ones, { eps: -1 })).toThrow(/eps must be finite and >= 0/);
    const { cache } = forwardLayerNormalization(x, ones, ones, {});
    expect(() => backwardLayerNormalization(makeTensor([3, 4]), cache)).toThrow(
      'backwardLayerNormalization: dout has shape [3,4], expected [4,3]',
    );
  });
});

describe('backwardLayerNormalization', () => {
  // cs231n's shape (N = 4, D = 5), then shapes that break a careless kernel: D = 1 (xhat = 0), 2, 3, and N = 1.
  const shapes: [number, number][] = [
    [4, 5],
    [4, 1],
    [4, 2],
    [4, 3],
    [1, 5],
    [1, 1],
    [7, 2],
  ];
  for (const [N, D] of shapes) {
    it(`dx, dgamma, dbeta match numerical gradients at N = ${N}, D = ${D} (rel err < 1e-7)`, () => {
      const rng = makeRng(100 + 10 * N + D);
      const x = rng.randnTensor([N, D], 5, 12);
      const gamma = rng.randnTensor([D]).data;
      const beta = rng.randnTensor([D]).data;
      const dout = rng.randnTensor([N, D]);
      const f = (): Float64Array => forwardLayerNormalization(x, gamma, beta, {}).out.data;
      const dxNum = evalNumericalGradientArray(f, x.data, dout.data);
      const dgammaNum = evalNumericalGradientArray(f, gamma, dout.data);
      const dbetaNum = evalNumericalGradientArray(f, beta, dout.data);
      const { cache } = forwardLayerNormalization(x, gamma, beta, {});
      const { dx, dgamma, dbeta } = backwardLayerNormalization(dout, cache);
      expect(dx.shape).toEqual([N, D]);
      if (D === 2) {
        // Two features: xhat = +-sqrt(var / (var + eps)) whatever x is, and the true dx is the cancellation
        // ivar / 2 * (dxhat_1 - dxhat_2) * eps / (var + eps), ~1e-7 here: below what a centred difference
        // of out (size ~1, h = 1e-5) resolves relative to dx itself. So: dx against that hand-derived
        // formula, and against the numerical gradient relative to the size of the terms that cancel.
        for (let i = 0; i < N; i++) {
          const g = [0, 1].map((j) => dout.data[i * 2 + j] * gamma[j]);
          const s = (x.data[i * 2] - cache.mu[i]) * cache.ivar[i];
          const want = 0.5 * cache.ivar[i] * (g[0] - g[1]) * (1 - s * s);
          expect(relError(dx.data[i * 2], want)).toBeLessThan(1e-6);
          expect(relError(dx.data[i * 2 + 1], -want)).toBeLessThan(1e-6);
        }
        const terms = Math.max(...dout.data.map((g, k) => Math.abs(g * gamma[k % 2] * cache.ivar[Math.floor(k / 2)])));
        expect(Math.max(...dx.data.map((v, k) => Math.abs(v - dxNum[k]))) / terms).toBeLessThan(1e-7);
      } else {
        expect(relError(dxNum, dx.data)).toBeLessThan(1e-7);
      }
      expect(relError(dgammaNum, dgamma)).toBeLessThan(1e-7);
      expect(relError(dbetaNum, dbeta)).toBeLessThan(1e-7);
      expect([...dx.data, ...dgamma, ...dbeta].every(Number.isFinite)).toBe(true);
      if (D === 1) expect(Math.max(...dx.data.map(Math.abs))).toBe(0); // one feature: out = beta whatever x is
    });
  }

  it('dx equals batchnorm backward of the transposed problem (gamma = 1)', () => {
    const rng = makeRng(31);
    const x = rng.randnTensor([5, 9], 3, 1);
    const dout = rng.randnTensor([5, 9]);
    const ln = forwardLayerNormalization(x, new Float64Array(9).fill(1), new Float64Array(9), {});
    const bn = forwardBatchNormalization(transpose(x), new Float64Array(5).fill(1), new Float64Array(5), { mode: 'train' });
    const dxLn = backwardLayerNormalization(dout, ln.cache).dx;
    const dxBn = backwardBatchNormalizationAlternative(transpose(dout), bn.cache).dx;
    expect(relError(dxLn.data, transpose(dxBn).data)).toBeLessThan(1e-10);
  });
});
