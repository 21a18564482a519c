// Philox4x32-10 and a Box–Muller pair exact to f32 rounding: the generator of the initial weights (init-normal.wgsl).
// WGSL has no include: src/ops/init-normal.ts prepends this file to the kernel with linkWgsl (gpu/kernel.ts).
//
// Philox4x32-10 is from Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC'11), as
// Random123 writes it (philox.h): ten rounds, each two 32x32->64-bit multiplies, the key bumped by the Weyl constants
// between rounds. WGSL has no 64-bit product, so `mulhilo` takes it from four 16x16-bit ones. The generator is pure
// u32 arithmetic: src/reference/philox.ts gives the same words, bit for bit (tested against Random123's known answers).
//
// The normal transform uses no builtin transcendental but sqrt: WGSL lets log, sin and cos be off by 3 ULP or by an
// absolute 2^-11, so they are written here with the four operations, whose rounding is what f32 gives anywhere
// (the float64 reference computes the same formulas with Math.log/cos/sin; the two agree to a few f32 ULP).

const PHILOX_M0 = 0xd2511f53u;
const PHILOX_M1 = 0xcd9e8d57u;
const PHILOX_W0 = 0x9e3779b9u;
const PHILOX_W1 = 0xbb67ae85u;

// (high, low) 32 bits of a·b: a = a1·2^16 + a0, b = b1·2^16 + b0, and the carries of the middle products.
fn mulhilo(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2u(a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}

fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      k += vec2u(PHILOX_W0, PHILOX_W1);
    }
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}

// ln u for u in (0, 1] (a normal f32): u = m·2^e with m in (√½, √2], ln m = 2·atanh(s) = 2s(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9),
// s = (m − 1)/(m + 1), |s| <= 0.1716 (the next term is under 2^-28 of the sum); m − 1 is exact.
fn philoxLog(u: f32) -> f32 {
  let bits = bitcast<u32>(u);
  var e = i32(bits >> 23u) - 127;
  var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
  if (m > 1.4142135) {
    m = m * 0.5;
    e = e + 1;
  }
  let s = (m - 1.0) / (m + 1.0);
  let s2 = s * s;
  let p = 1.0 + s2 * (0.33333333 + s2 * (0.2 + s2 * (0.14285714 + s2 * 0.11111111)));
  return f32(e) * 0.69314718 + 2.0 * s * p;
}

// (cos, sin) of x·π/2 for x in [−½, ½]: their Taylor series to x⁹ and x¹⁰ (the first term left out is under 2^-28 of the value).
fn quarterTurnCosSin(x: f32) -> vec2f {
  let x2 = x * x;
  let s = x * (1.5707963 + x2 * (-0.64596410 + x2 * (0.079692626 + x2 * (-0.0046817541 + x2 * 0.00016044118))));
  let c = 1.0 + x2 * (-1.2337006 + x2 * (0.25366951 + x2 * (-0.020863481 + x2 * (0.00091926027 + x2 * -0.000025202042))));
  return vec2f(c, s);
}

// Box–Muller on two words (src/reference/philox.ts `makeNormalPair`): u1 = ((x0 >> 8) + 1)·2^-24 in (0, 1],
// r = √(−2 ln u1); the angle 2π·(x1 >> 8)·2^-24 = (q + f)·π/2 with q its nearest quarter turn and f in [−½, ½), both
// exact; (cos, sin) of the angle is (cos, sin) of f·π/2 turned q quarter turns.
fn normalPair(x0: u32, x1: u32) -> vec2f {
  let u1 = f32((x0 >> 8u) + 1u) * 5.9604645e-8; // 2^-24
  let v = -2.0 * philoxLog(u1);
  let r = select(sqrt(v), 0.0, v <= 0.0); // u1 = 1: r = 0 (not a sqrt of −0, which x·rsqrt(x) would make NaN)
  let t = x1 >> 8u;
  let q = (t + 0x200000u) >> 22u;
  let cs = quarterTurnCosSin(f32(i32(t) - i32(q << 22u)) * 2.3841858e-7); // 2^-22
  var turned: vec2f;
  switch (q & 3u) {
    case 0u: { turned = cs; }
    case 1u: { turned = vec2f(-cs.y, cs.x); }
    case 2u: { turned = -cs; }
    default: { turned = vec2f(cs.y, -cs.x); }
  }
  return r * turned;
}
