// A seeded, deterministic random number generator (sfc32 with Box–Muller normals) for the reference.
import { makeTensor } from './tensor.ts';
import type { Tensor } from './tensor.ts';

/** Random draws from one deterministic stream; two Rngs made with the same seed draw the same values. */
export interface Rng {
  /** Uniform in [0, 1), with 53 random bits. */
  uniform(): number;
  /** Standard normal (mean 0, variance 1). */
  randn(): number;
  /** Uniform integer in 0..n-1. */
  randint(n: number): number;
  /** A tensor of `scale * randn() + shift`, drawn in row-major order. */
  randnTensor(shape: readonly number[], scale?: number, shift?: number): Tensor;
  /** The generator's whole state (a copy): `setState` of it makes the same draws again (the Solver rewinds its sampler so). */
  getState(): RngState;
  setState(state: RngState): void;
}

/** sfc32's four words and the spare Box–Muller normal. */
export interface RngState {
  words: [number, number, number, number];
  spare: number | null;
}

const TWO_POW_32 = 4294967296;

/**
 * A generator seeded by any safe integer (all its bits are mixed in): sfc32 (Chris
 * Doty-Humphrey's PractRand "small fast counting" generator) seeded through splitmix32, and
 * Box–Muller on two 53-bit uniforms for normals (the second normal of each pair is kept).
 * @example
 *   const rng = makeRng(0);
 *   const x = rng.randnTensor([4, 5], 5, 12); // like numpy's 5 * randn(4, 5) + 12
 */
export function makeRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new Error(`makeRng: seed must be a safe integer, got ${seed}`);
  // splitmix32 turns the seed's low and high words into four well-mixed state words.
  let s = ((seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) >>> 0, 0x85ebca6b)) >>> 0;
  const splitmix32 = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32(); // let the counter-based state diffuse

  const uniform = (): number => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
  let spare: number | null = null;
  const randn = (): number => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const u1 = 1 - uniform(); // in (0, 1], so log(u1) is finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  const randint = (n: number): number => {
    if (!Number.isInteger(n) || n < 1) throw new Error(`randint: n must be a positive integer, got ${n}`);
    return Math.floor(uniform() * n);
  };
  const randnTensor = (shape: readonly number[], scale = 1, shift = 0): Tensor => {
    const t = makeTensor(shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = scale * randn() + shift;
    return t;
  };
  const getState = (): RngState => ({ words: [a, b, c, d], spare });
  const setState = (st: RngState): void => {
    if (!Array.isArray(st?.words) || st.words.length !== 4 || !st.words.every(Number.isInteger))
      throw new Error('Rng.setState: not a state from getState()');
    [a, b, c, d] = st.words;
    spare = st.spare;
  };
  return { uniform, randn, randint, randnTensor, getState, setState };
}
