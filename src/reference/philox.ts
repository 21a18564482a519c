// The counter-based generator of the initial weights (Philox4x32-10) and its normal transform in float64, the twin of shaders/lib/philox.wgsl and shaders/init-normal.wgsl.
//
// Philox4x32-10 is from Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC'11), as
// Random123 implements it: ten rounds over a 4-word counter under a 2-word key, each round two 32x32->64-bit
// multiplies (0xD2511F53, 0xCD9E8D57) and the key bumped by the Weyl constants (0x9E3779B9, 0xBB67AE85). It is pure
// u32 arithmetic, so the WGSL kernel and this file give the same bits; only the normal transform (logarithm, square
// root, sine, cosine) is computed in float64 here and in f32 on the GPU, so the two agree to f32 rounding.
//
// How the initial weights are keyed (one stream per tensor of one net, nothing shared between nets):
// - key = the net's `seed` as two u32 words, [low 32 bits, high 32 bits] of its two's-complement 64-bit value;
// - counter = [g, l, 0, 0x696e6974 ('init')]: g = the element's group of four (element e of the tensor in row-major
//   order over its real shape [in, out] is in group e >> 2, lane e & 3), l = the layer of W_l (1..L); word 2 is 0
//   (the high bits of g, for tensors of 2^34 elements and more, which no device holds);
// - the group's four words x0..x3 give two Box–Muller pairs: lanes 0, 1 from (x0, x1), lanes 2, 3 from (x2, x3);
// - W_l[i, j] = weightScale · normal(seed, l, i·out + j).
// So a net's weights depend on its own seed, weightScale and layer sizes only: model k of a population draws exactly
// what the single net with its options draws, whatever the population's size or k.

/** Philox4x32's multipliers and Weyl key increments (Random123's PHILOX_M4x32_0/1 and PHILOX_W32_0/1). */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Word 3 of every initial-weight counter: 'init' in ASCII, so another use of the generator can take another tag. */
export const initCounterTag = 0x696e6974;

/** The high 32 bits of a·b for u32 a, b: a split into 16-bit halves keeps every partial product exact in a double. */
function mulhi(a: number, b: number): number {
  const lo = (a & 0xffff) * b; // < 2^48
  const hi = (a >>> 16) * b; // < 2^48; a·b = hi·2^16 + lo
  return Math.floor((hi + Math.floor(lo / 65536)) / 65536) >>> 0;
}

/**
 * Philox4x32-10 of one counter under one key: four u32 words (Random123's `philox4x32(ctr, key)`).
 *   philox4x32([0, 0, 0, 0], [0, 0]); // Uint32Array [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
 *   philox4x32([g, 1, 0, initCounterTag], makeInitKey(seed)); // the four words of group g of W1
 */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/**
 * The Philox key of a seed (any safe integer): the low and high 32-bit words of its two's-complement 64-bit value.
 *   makeInitKey(7);  // [7, 0]
 *   makeInitKey(-1); // [0xffffffff, 0xffffffff]
 */
export function makeInitKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed)) throw new Error(`initial weights: seed must be a safe integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/**
 * The two standard normals of the u32 words (x0, x1), by Box–Muller in float64, as the kernel computes them in f32:
 * u1 = ((x0 >> 8) + 1)·2^-24 in (0, 1] and r = √(−2 ln u1) (so |z| < 5.77); the angle 2π·(x1 >> 8)·2^-24 taken as its
 * nearest quarter turn q plus a rest φ in [−π/4, π/4), so the cosine and sine are exact rotations of cos φ, sin φ.
 *   makeNormalPair(0xffffffff, 0, out, 0); // u1 = 1: out[0] = out[1] = 0
 *   makeNormalPair(x0, x1, out, 2);        // out[2] = r·cos θ, out[3] = r·sin θ
 */
export function makeNormalPair(x0: number, x1: number, out: Float64Array, at: number): void {
  const u1 = ((x0 >>> 8) + 1) * 2 ** -24;
  const r = Math.sqrt(-2 * Math.log(u1));
  const t = x1 >>> 8; // the angle in units of 2π / 2^24
  const q = (t + 0x200000) >>> 22; // the nearest quarter turn, 0..4
  const phi = ((t - q * 0x400000) * 2 ** -22 * Math.PI) / 2;
  const c = Math.cos(phi);
  const s = Math.sin(phi);
  const k = q & 3; // rotate (cos φ, sin φ) by k quarter turns
  out[at] = r * (k === 0 ? c : k === 1 ? -s : k === 2 ? -c : s);
  out[at + 1] = r * (k === 0 ? s : k === 1 ? c : k === 2 ? -s : -c);
}

/**
 * Elements [from, from + out.length) of a tensor's initial values: out[i] = scale · normal(seed, stream, from + i), the
 * stream being the layer l of W_l (see the keying above).
 *   const w1 = new Float64Array(3072 * 100); fillInitNormals(w1, 7, 1, 1e-2); // W1 of a net with seed 7
 *   fillInitNormals(w1.subarray(4096), 7, 1, 1e-2, 4096);                       // the same values from element 4096 on
 */
export function fillInitNormals(out: Float64Array, seed: number, stream: number, scale: number, from = 0): void {
  const key = makeInitKey(seed);
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) throw new Error(`initial weights: stream ${stream} is not a u32`);
  if (!Number.isInteger(from) || from < 0) throw new Error(`initial weights: from ${from} is not an element index`);
  const end = from + out.length;
  if (end > 2 ** 34) throw new Error(`initial weights: element ${end - 1} is past the 2^34 a stream holds`);
  const words = new Uint32Array(4);
  const z = new Float64Array(4);
  const counter = [0, stream, 0, initCounterTag];
  for (let g = Math.floor(from / 4); g * 4 < end; g++) {
    counter[0] = g;
    philox4x32(counter, key, words);
    makeNormalPair(words[0]!, words[1]!, z, 0);
    makeNormalPair(words[2]!, words[3]!, z, 2);
    for (let lane = 0; lane < 4; lane++) {
      const e = g * 4 + lane;
      if (e >= from && e < end) out[e - from] = scale * z[lane]! + 0; // + 0: a zero is +0, as randnTensor wrote it
    }
  }
}
