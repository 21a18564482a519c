// Numerical gradients against derivatives known in closed form, and relError's definition.
import { describe, expect, it } from 'vitest';
import { evalNumericalGradient, evalNumericalGradientArray, relError } from '../../src/reference/index.ts';

describe('evalNumericalGradient', () => {
  it('differentiates sum(x^3) + x0 * x1 to 3x^2 + (x1, x0, 0) and restores x', () => {
    const x = Float64Array.of(0.5, -1.5, 2);
    const f = (v: Float64Array): number => v.reduce((s, t) => s + t ** 3, 0) + v[0] * v[1];
    const g = evalNumericalGradient(f, x);
    expect(relError(g, [0.75 - 1.5, 6.75 + 0.5, 12])).toBeLessThan(1e-9);
    expect(Array.from(x)).toEqual([0.5, -1.5, 2]);
  });

  it('is exact up to rounding for a quadratic with a large h, and restores x after f throws', () => {
    const x = Float64Array.of(3);
    expect(evalNumericalGradient((v) => v[0] * v[0], x, 0.5)[0]).toBe(6);
    expect(() =>
      evalNumericalGradient(() => {
        throw new Error('boom');
      }, x),
    ).toThrow('boom');
    expect(x[0]).toBe(3);
  });
});

describe('evalNumericalGradientArray', () => {
  it('gives the vector-Jacobian product: d/dx sum(sin(x) * dout) = cos(x) * dout', () => {
    const x = Float64Array.of(0.1, 1, -2, 3);
    const dout = Float64Array.of(1, -2, 0.5, 3);
    const g = evalNumericalGradientArray((v) => v.map(Math.sin), x, dout);
    expect(
      relError(
        g,
        Array.from(x, (t, i) => Math.cos(t) * dout[i]),
      ),
    ).toBeLessThan(1e-9);
    expect(Array.from(x)).toEqual([0.1, 1, -2, 3]);
  });

  it('rejects a dout of the wrong length', () => {
    expect(() => evalNumericalGradientArray((v) => v, Float64Array.of(1, 2), Float64Array.of(1))).toThrow(
      'evalNumericalGradientArray: f returned 2 values, dout has 1',
    );
  });
});

describe('relError', () => {
  it('is max |x - y| / max(1e-8, |x| + |y|), element by element', () => {
    expect(relError(1, 3)).toBe(0.5);
    expect(relError([1, 10], [1, 12])).toBe(2 / 22);
    expect(relError([0], [1e-9])).toBe(1e-9 / 1e-8); // the floor
    expect(relError(Float32Array.of(1.5, 2), Float64Array.of(1.5, 2))).toBe(0);
    expect(relError([], [])).toBe(0);
    expect(relError([1, Number.NaN], [1, 1])).toBeNaN();
  });

  it('rejects arrays of different lengths', () => {
    expect(() => relError([1, 2], [1])).toThrow('relError: x has 2 elements, y has 1');
  });
});
