// The initial-weight generator in JS: Philox4x32-10 against Random123's known answers, the normal transform, and the keying.
import { describe, expect, it } from 'vitest';
import { fillInitNormals, initCounterTag, makeInitKey, makeNormalPair, philox4x32 } from '../../src/reference/philox.ts';

// Random123's examples/kat_vectors, the three "philox4x32 10" lines: counter (4 words), key (2 words), result (4 words).
const kat: [number[], number[], number[]][] = [
  [
    [0, 0, 0, 0],
    [0, 0],
    [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
  ],
  [
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  ],
  [
    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    [0xa4093822, 0x299f31d0],
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  ],
];

/** Box–Muller as written in any textbook (no quarter-turn reduction): the independent twin of makeNormalPair. */
function textbookPair(x0: number, x1: number): [number, number] {
  const u1 = ((x0 >>> 8) + 1) / 2 ** 24;
  const u2 = (x1 >>> 8) / 2 ** 24;
  const r = Math.sqrt(-2 * Math.log(u1));
  return [r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2)];
}

describe('philox4x32 (Random123 known answers)', () => {
  for (const [counter, key, want] of kat)
    it(`counter ${counter.map((w) => w.toString(16)).join(' ')} key ${key.map((w) => w.toString(16)).join(' ')}`, () => {
      expect(Array.from(philox4x32(counter, key))).toEqual(want);
    });
});

describe('makeNormalPair', () => {
  it('is Box–Muller on 24-bit uniforms: the textbook formula to float64 rounding, exact zeros where the angle or the radius is', () => {
    const words = new Uint32Array(4);
    const z = new Float64Array(2);
    let worst = 0;
    for (let g = 0; g < 20000; g++) {
      philox4x32([g, 3, 0, initCounterTag], [5, 0], words);
      makeNormalPair(words[0]!, words[1]!, z, 0);
      const [a, b] = textbookPair(words[0]!, words[1]!);
      worst = Math.max(worst, Math.abs(z[0]! - a), Math.abs(z[1]! - b));
    }
    expect(worst).toBeLessThan(1e-14);
    makeNormalPair(0xffffffff, 12345 << 8, z, 0); // u1 = 1: r = 0
    expect(Array.from(z, Math.abs)).toEqual([0, 0]); // (−0: −2·ln 1 is −0)
    makeNormalPair(0, 0, z, 0); // angle 0: (r, 0), r = √(2·ln 2^24) for the smallest u1
    expect(z[1]).toBe(0);
    expect(z[0]).toBeCloseTo(Math.sqrt(2 * 24 * Math.LN2), 12);
    makeNormalPair(0, 0x400000 << 8, z, 0); // a quarter turn: (0, r) exactly
    expect(Math.abs(z[0]!)).toBe(0);
    expect(z[1]).toBeCloseTo(Math.sqrt(2 * 24 * Math.LN2), 12);
  });

  it('gives standard normals: mean ~ 0, variance ~ 1, the 1.96 quantile, over 4e5 draws', () => {
    const out = new Float64Array(400_000);
    fillInitNormals(out, 123, 1, 1);
    const n = out.length;
    const mean = out.reduce((s, x) => s + x, 0) / n;
    const variance = out.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    const tail = out.filter((x) => Math.abs(x) > 1.959964).length / n;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(tail - 0.05)).toBeLessThan(5 * Math.sqrt((0.05 * 0.95) / n));
  });
});

describe('fillInitNormals (the keying)', () => {
  it('element e of a stream is the lane e & 3 of the Philox group e >> 2 under the seed as key, scaled', () => {
    const seed = 2 ** 40 + 17;
    const out = new Float64Array(11);
    fillInitNormals(out, seed, 2, 0.25);
    expect(makeInitKey(seed)).toEqual([17, 256]);
    const z = new Float64Array(4);
    for (let e = 0; e < out.length; e++) {
      const w = philox4x32([e >> 2, 2, 0, initCounterTag], [17, 256]);
      makeNormalPair(w[0]!, w[1]!, z, 0);
      makeNormalPair(w[2]!, w[3]!, z, 2);
      expect(out[e], `element ${e}`).toBe(0.25 * z[e & 3]!);
    }
  });

  it('any window of a stream is the same values (chunks start anywhere), and streams and seeds differ', () => {
    const whole = new Float64Array(1001);
    fillInitNormals(whole, 9, 1, 0.1);
    const part = new Float64Array(333);
    fillInitNormals(part, 9, 1, 0.1, 601);
    expect(Array.from(part)).toEqual(Array.from(whole.subarray(601, 934)));
    const other = new Float64Array(1001);
    fillInitNormals(other, 9, 2, 0.1);
    expect(other.filter((x, i) => x === whole[i]).length).toBe(0);
    fillInitNormals(other, 10, 1, 0.1);
    expect(other.filter((x, i) => x === whole[i]).length).toBe(0);
  });

  it('keys negative and large seeds by their 64-bit two’s complement, and refuses what is not a safe integer', () => {
    expect(makeInitKey(-1)).toEqual([0xffffffff, 0xffffffff]);
    expect(makeInitKey(-(2 ** 32))).toEqual([0, 0xffffffff]);
    expect(makeInitKey(2 ** 53 - 1)).toEqual([0xffffffff, 0x1fffff]);
    expect(() => makeInitKey(0.5)).toThrow('seed must be a safe integer, got 0.5');
    expect(() => fillInitNormals(new Float64Array(1), 1, -1, 1)).toThrow('stream -1 is not a u32');
  });
});
