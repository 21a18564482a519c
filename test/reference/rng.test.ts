// The seeded RNG: determinism, moments of its normals and uniforms, randint's range.
import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/reference/index.ts';

describe('makeRng', () => {
  it('draws the same sequence for the same seed and another for another seed', () => {
    const a = makeRng(123);
    const b = makeRng(123);
    const c = makeRng(124);
    const seqA = Array.from({ length: 100 }, () => a.randn());
    expect(Array.from({ length: 100 }, () => b.randn())).toEqual(seqA);
    expect(Array.from({ length: 100 }, () => c.randn())).not.toEqual(seqA);
    expect(makeRng(2 ** 40).uniform()).not.toBe(makeRng(0).uniform()); // high bits of the seed count
  });

  it('randn has mean ~ 0 and std ~ 1 over 1e5 samples', () => {
    const rng = makeRng(1);
    const n = 100_000;
    let s = 0;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.randn();
      s += z;
      q += z * z;
    }
    const mean = s / n;
    const std = Math.sqrt(q / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.015); // 5 standard errors
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
  });

  it('uniform lies in [0, 1) with mean ~ 1/2 and variance ~ 1/12', () => {
    const rng = makeRng(2);
    const xs = Array.from({ length: 100_000 }, () => rng.uniform());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('randint(n) covers exactly 0..n-1, about evenly', () => {
    const rng = makeRng(3);
    const counts = new Array<number>(7).fill(0);
    let outside = 0;
    for (let i = 0; i < 70_000; i++) {
      const k = rng.randint(7);
      if (Number.isInteger(k) && k >= 0 && k < 7) counts[k]++;
      else outside++;
    }
    expect(outside).toBe(0);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(makeRng(4).randint(1)).toBe(0);
    expect(() => rng.randint(0)).toThrow(/randint: n must be a positive integer/);
    expect(() => rng.randint(2.5)).toThrow(/randint/);
  });

  it('randnTensor(shape, scale, shift) is scale * randn + shift in row-major order', () => {
    const t = makeRng(5).randnTensor([2, 3], 5, 12);
    const rng = makeRng(5);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual(Array.from({ length: 6 }, () => 5 * rng.randn() + 12));
  });

  it('rejects a seed that is not a safe integer', () => {
    expect(() => makeRng(0.5)).toThrow(/makeRng: seed must be a safe integer/);
    expect(() => makeRng(Number.NaN)).toThrow(/makeRng/);
  });
});
