// Affine, ReLU, GELU and softmax loss: hand-computed values and numerical gradient checks.
import { describe, expect, it } from 'vitest';
import {
  affineBackward,
  affineForward,
  evalNumericalGradient,
  evalNumericalGradientArray,
  geluBackward,
  geluForward,
  makeRng,
  makeTensor,
  relError,
  reluBackward,
  reluForward,
  softmaxLoss,
} from '../../src/reference/index.ts';

describe('affine', () => {
  it('computes x · w + b by hand on a 2 x 3 example', () => {
    const x = makeTensor([2, 3], [1, 2, 3, 4, 5, 6]);
    const w = makeTensor([3, 2], [1, -1, 0, 2, 0.5, 0]);
    const b = makeTensor([2], [10, 20]);
    const { out } = affineForward(x, w, b);
    // Row 0: [1*1 + 2*0 + 3*0.5 + 10, 1*-1 + 2*2 + 3*0 + 20]; row 1 likewise.
    expect(out.shape).toEqual([2, 2]);
    expect(Array.from(out.data)).toEqual([12.5, 23, 17, 26]);
  });

  it("flattens x of shape [N, d1, d2] and matches numerical gradients, dx keeping x's shape", () => {
    const rng = makeRng(1);
    const x = rng.randnTensor([10, 2, 3]);
    const w = rng.randnTensor([6, 5]);
    const b = rng.randnTensor([5]);
    const dout = rng.randnTensor([10, 5]);
    const f = (): Float64Array => affineForward(x, w, b).out.data;
    const { dx, dw, db } = affineBackward(dout, affineForward(x, w, b).cache);
    expect(dx.shape).toEqual([10, 2, 3]);
    expect(dw.shape).toEqual([6, 5]);
    expect(relError(evalNumericalGradientArray(f, x.data, dout.data), dx.data)).toBeLessThan(1e-8);
    expect(relError(evalNumericalGradientArray(f, w.data, dout.data), dw.data)).toBeLessThan(1e-8);
    expect(relError(evalNumericalGradientArray(f, b.data, dout.data), db.data)).toBeLessThan(1e-8);
  });

  it('names the function, argument and both shapes on a mismatch', () => {
    const x = makeTensor([4, 5]);
    expect(() => affineForward(x, makeTensor([7, 3]), makeTensor([3]))).toThrow('affineForward: w has shape [7,3], expected [5,?]');
    expect(() => affineForward(x, makeTensor([5, 3]), makeTensor([4]))).toThrow('affineForward: b has shape [4], expected [3]');
    expect(() => affineForward(makeTensor([4]), makeTensor([5, 3]), makeTensor([3]))).toThrow(/affineForward: x has shape \[4\]/);
    const { cache } = affineForward(x, makeTensor([5, 3]), makeTensor([3]));
    expect(() => affineBackward(makeTensor([4, 2]), cache)).toThrow('affineBackward: dout has shape [4,2], expected [4,3]');
  });
});

describe('relu', () => {
  it('zeroes negatives (and the gradient at exactly 0) by hand', () => {
    const { out, cache } = reluForward(makeTensor([2, 2], [-1, 0, 2, -0.5]));
    expect(Array.from(out.data)).toEqual([0, 0, 2, 0]);
    expect(Array.from(reluBackward(makeTensor([2, 2], [5, 6, 7, 8]), cache).data)).toEqual([0, 0, 7, 0]);
  });

  it('matches the numerical gradient', () => {
    const rng = makeRng(2);
    const x = rng.randnTensor([10, 10]);
    const dout = rng.randnTensor([10, 10]);
    const dxNum = evalNumericalGradientArray(() => reluForward(x).out.data, x.data, dout.data);
    expect(relError(dxNum, reluBackward(dout, reluForward(x).cache).data)).toBeLessThan(1e-10);
  });

  it('rejects a dout of another shape', () => {
    expect(() => reluBackward(makeTensor([3, 2]), reluForward(makeTensor([2, 3])).cache)).toThrow(
      'reluBackward: dout has shape [3,2], expected [2,3]',
    );
  });
});

describe('gelu (tanh form)', () => {
  it('equals 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) at hand-computed points', () => {
    // tanh(√(2/π)·1.044715) = 0.6827068..., tanh(√(2/π)·2.35772) = 0.9545977...: GELU(-1) = -0.5·(1 - 0.68271), GELU(2) = 1 + 0.95460
    const { out } = geluForward(makeTensor([4], [-1, 0, 2, 30]));
    expect(out.data[0]).toBeCloseTo(-0.15880800939, 10);
    expect(out.data[1]).toBe(0);
    expect(out.data[2]).toBeCloseTo(1.95459769409, 10);
    expect(out.data[3]).toBe(30); // tanh saturates: x itself
    // GELU'(0) = 0.5; far left the gradient vanishes
    const dx = geluBackward(makeTensor([2], [2, 2]), geluForward(makeTensor([2], [0, -30])).cache);
    expect(dx.data[0]).toBe(1);
    expect(Math.abs(dx.data[1]!)).toBe(0);
  });

  it('matches the numerical gradient', () => {
    const rng = makeRng(3);
    const x = rng.randnTensor([10, 10], 2);
    const dout = rng.randnTensor([10, 10]);
    const dxNum = evalNumericalGradientArray(() => geluForward(x).out.data, x.data, dout.data);
    expect(relError(dxNum, geluBackward(dout, geluForward(x).cache).data)).toBeLessThan(1e-8);
  });

  it('rejects a dout of another shape', () => {
    expect(() => geluBackward(makeTensor([3, 2]), geluForward(makeTensor([2, 3])).cache)).toThrow(
      'geluBackward: dout has shape [3,2], expected [2,3]',
    );
  });
});

describe('softmaxLoss', () => {
  it('matches a tiny example computed by hand', () => {
    // Row 0: scores [1, 2, 3], label 2: p = e^s / (e + e^2 + e^3); loss -log p_2 = log(1 + e^-1 + e^-2).
    // Row 1: scores [0, 0, 0], label 0: p = 1/3 each; loss log 3.
    const { loss, dx } = softmaxLoss(makeTensor([2, 3], [1, 2, 3, 0, 0, 0]), [2, 0]);
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    expect(relError(loss, (Math.log(1 + Math.exp(-1) + Math.exp(-2)) + Math.log(3)) / 2)).toBeLessThan(1e-15);
    const expected = [Math.E / z, Math.E ** 2 / z, Math.E ** 3 / z - 1, 1 / 3 - 1, 1 / 3, 1 / 3].map((v) => v / 2);
    expect(relError(dx.data, expected)).toBeLessThan(1e-14);
  });

  it('is stable for huge scores', () => {
    const { loss, dx } = softmaxLoss(makeTensor([1, 2], [1000, 1001]), [0]);
    expect(relError(loss, Math.log(1 + Math.E))).toBeLessThan(1e-15);
    expect(relError(dx.data, [1 / (1 + Math.E) - 1, Math.E / (1 + Math.E)])).toBeLessThan(1e-15);
  });

  it('is about log(C) for small scores and matches the numerical gradient', () => {
    const rng = makeRng(3);
    const [N, C] = [50, 10];
    const x = rng.randnTensor([N, C], 1e-3);
    const y = Array.from({ length: N }, () => rng.randint(C));
    const { loss, dx } = softmaxLoss(x, y);
    expect(Math.abs(loss - Math.log(10))).toBeLessThan(1e-2);
    const dxNum = evalNumericalGradient(() => softmaxLoss(x, y).loss, x.data);
    expect(relError(dxNum, dx.data)).toBeLessThan(1e-7);
  });

  it('names an out-of-range or non-integer label and a wrong label count', () => {
    const s = makeTensor([3, 4]);
    expect(() => softmaxLoss(s, [0, 4, 1])).toThrow('softmaxLoss: y[1] = 4 is not a class index in 0..3');
    expect(() => softmaxLoss(s, [0, 1, -1])).toThrow('softmaxLoss: y[2] = -1 is not a class index in 0..3');
    expect(() => softmaxLoss(s, [0.5, 1, 1])).toThrow(/y\[0\] = 0.5/);
    expect(() => softmaxLoss(s, [0, 1])).toThrow('softmaxLoss: y has shape [2], expected [3]');
  });
});
