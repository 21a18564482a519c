// The CPU adapters' vec4 kernels `main_v8` / `main_v8c` (variant `block8vec4`), linked behind
// shaders/lib/matmul-common.wgsl (the layouts, Params, bindings, biasAt, put4); their 8x8 accumulation
// (v8Accumulate, rank4) is shared with shaders/matmul-subgroups.wgsl.

// 8x8 block with vec4 loads (main_v8): the CPU adapters' kernel for aligned operands. Every storage load costs
// SwiftShader about the same whether it reads one float or four, so reading A and B four floats at a time
// (8 + 8 loads per 4 k for 256 multiply-adds, against 64 scalar loads in `main`) is what makes it faster there.
// Needs (block8vec4Eligible): A·B and A·Bᵀ k % 4 == 0; A·B n % 4 == 0; Aᵀ·B m % 4 == 0 and n % 4 == 0; lda, ldb and
// the batch offsets of A and B multiples of 4. Blocks are numbered over batches x blocks (a workgroup may span
// two batches, so no invocation idles on a small product); z runs over the K splits.
// One invocation's 8x8 block of C (before bias): c[2r] = row i0 + r, columns j0..j0+3, c[2r + 1] columns j0+4..j0+7.
struct Tile {
  c: array<vec4f, 16>,
  i0: u32,
  j0: u32,
  batch: u32,
  split: u32,
  // 0 for the surplus invocations of the last workgroup (they computed a copy of the last block)
  live: u32,
}

fn v8Tile(wid: vec3u, nwg: vec3u, li: u32) -> Tile {
  let total = params.blocks * params.batches;
  let flat = (wid.y * nwg.x + wid.x) * WG + li;
  let g = min(flat, total - 1u);
  let batch = g / params.blocks;
  let blk = g % params.blocks;
  let i0 = (blk / params.nb) * 8u;
  let j0 = (blk % params.nb) * 8u;
  let split = wid.z;
  let kbeg = split * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);
  let b4 = batch * params.batchB / 4u;
  // A·B: rows of B at its column vec4s j0/4 and j0/4 + 1 (clamped; a last half block reads a copy)
  let nv = max(params.n / 4u, 1u);
  let jb = b4 + min(j0 / 4u, nv - 1u);
  let jB = b4 + min(j0 / 4u + 1u, nv - 1u);
  let c = v8Accumulate(i0, j0, batch * params.batchA / 4u, b4, jb, jB, kbeg, kend);
  return Tile(c, i0, j0, batch, split, select(0u, 1u, flat < total));
}

// One 4-k step of an 8x8 block: row r of the block (t[2r], t[2r + 1]) += x_r · [p0 p1] (x_r: row r of op(A) over the 4 k).
fn rank4(t: ptr<function, array<vec4f, 16>>, p0: mat4x4f, p1: mat4x4f, x0: vec4f, x1: vec4f, x2: vec4f, x3: vec4f, x4: vec4f, x5: vec4f, x6: vec4f, x7: vec4f) {
  (*t)[0] += p0 * x0; (*t)[1] += p1 * x0;
  (*t)[2] += p0 * x1; (*t)[3] += p1 * x1;
  (*t)[4] += p0 * x2; (*t)[5] += p1 * x2;
  (*t)[6] += p0 * x3; (*t)[7] += p1 * x3;
  (*t)[8] += p0 * x4; (*t)[9] += p1 * x4;
  (*t)[10] += p0 * x5; (*t)[11] += p1 * x5;
  (*t)[12] += p0 * x6; (*t)[13] += p1 * x6;
  (*t)[14] += p0 * x7; (*t)[15] += p1 * x7;
}

// The 8x8 block at rows i0.., columns j0.. over k in [kbeg, kend), each invocation loading its own operands: A from
// vec4 a4 on, B from b4 (A·Bᵀ: its rows j0..j0+7) or, for A·B and Aᵀ·B, at the vec4 columns jb and jB of B's rows.
fn v8Accumulate(i0: u32, j0: u32, a4: u32, b4: u32, jb: u32, jB: u32, kbeg: u32, kend: u32) -> array<vec4f, 16> {
  let m = params.m;
  let n = params.n;
  let lda4 = params.lda / 4u;
  let ldb4 = params.ldb / 4u;
  var t: array<vec4f, 16>;
  if (TRANS_A) {
    // Aᵀ·B: A stored k×m, B k×n; per k one vec4 of 4 rows of op(A) twice and of 4 columns of B twice.
    let ia = a4 + min(i0 / 4u, m / 4u - 1u);
    let iA = a4 + min(i0 / 4u + 1u, m / 4u - 1u);
    var kk = kbeg;
    // 4 k at a time as two 4x4 products (the form the A·B loop below runs fastest in), then the k % 4 tail
    for (; kk + 4u <= kend; kk += 4u) {
      let q0 = transpose(mat4x4f(av[ia + kk * lda4], av[ia + (kk + 1u) * lda4], av[ia + (kk + 2u) * lda4], av[ia + (kk + 3u) * lda4]));
      let q1 = transpose(mat4x4f(av[iA + kk * lda4], av[iA + (kk + 1u) * lda4], av[iA + (kk + 2u) * lda4], av[iA + (kk + 3u) * lda4]));
      let p0 = mat4x4f(bv[jb + kk * ldb4], bv[jb + (kk + 1u) * ldb4], bv[jb + (kk + 2u) * ldb4], bv[jb + (kk + 3u) * ldb4]);
      let p1 = mat4x4f(bv[jB + kk * ldb4], bv[jB + (kk + 1u) * ldb4], bv[jB + (kk + 2u) * ldb4], bv[jB + (kk + 3u) * ldb4]);
      rank4(&t, p0, p1, q0[0], q0[1], q0[2], q0[3], q1[0], q1[1], q1[2], q1[3]);
    }
    // the k % 4 tail, one rank-1 update per k (masking the loads of a last 4x4 step instead costs the whole loop
    // 10-15 % on SwiftShader)
    for (; kk < kend; kk++) {
      let x0 = av[ia + kk * lda4];
      let x1 = av[iA + kk * lda4];
      let y0 = bv[jb + kk * ldb4];
      let y1 = bv[jB + kk * ldb4];
      t[0] += x0.x * y0; t[1] += x0.x * y1;
      t[2] += x0.y * y0; t[3] += x0.y * y1;
      t[4] += x0.z * y0; t[5] += x0.z * y1;
      t[6] += x0.w * y0; t[7] += x0.w * y1;
      t[8] += x1.x * y0; t[9] += x1.x * y1;
      t[10] += x1.y * y0; t[11] += x1.y * y1;
      t[12] += x1.z * y0; t[13] += x1.z * y1;
      t[14] += x1.w * y0; t[15] += x1.w * y1;
    }
  } else {
    // A·B and A·Bᵀ: A stored m×k; per 4 k one vec4 of each of the 8 rows of op(A), and op(B)[kk..kk+3][j0..j0+7]
    // as two 4x4 matrices whose column t is row kk + t of op(B).
    let ra0 = a4 + min(i0 + 0u, m - 1u) * lda4;
    let ra1 = a4 + min(i0 + 1u, m - 1u) * lda4;
    let ra2 = a4 + min(i0 + 2u, m - 1u) * lda4;
    let ra3 = a4 + min(i0 + 3u, m - 1u) * lda4;
    let ra4 = a4 + min(i0 + 4u, m - 1u) * lda4;
    let ra5 = a4 + min(i0 + 5u, m - 1u) * lda4;
    let ra6 = a4 + min(i0 + 6u, m - 1u) * lda4;
    let ra7 = a4 + min(i0 + 7u, m - 1u) * lda4;
    // A·Bᵀ: rows j0..j0+7 of the stored n×k B.
    let rb0 = b4 + min(j0 + 0u, n - 1u) * ldb4;
    let rb1 = b4 + min(j0 + 1u, n - 1u) * ldb4;
    let rb2 = b4 + min(j0 + 2u, n - 1u) * ldb4;
    let rb3 = b4 + min(j0 + 3u, n - 1u) * ldb4;
    let rb4 = b4 + min(j0 + 4u, n - 1u) * ldb4;
    let rb5 = b4 + min(j0 + 5u, n - 1u) * ldb4;
    let rb6 = b4 + min(j0 + 6u, n - 1u) * ldb4;
    let rb7 = b4 + min(j0 + 7u, n - 1u) * ldb4;
    for (var kk = kbeg; kk < kend; kk += 4u) {
      let q = kk / 4u;
      var p0: mat4x4f;
      var p1: mat4x4f;
      if (TRANS_B) {
        p0 = transpose(mat4x4f(bv[rb0 + q], bv[rb1 + q], bv[rb2 + q], bv[rb3 + q]));
        p1 = transpose(mat4x4f(bv[rb4 + q], bv[rb5 + q], bv[rb6 + q], bv[rb7 + q]));
      } else {
        let o = kk * ldb4;
        p0 = mat4x4f(bv[jb + o], bv[jb + o + ldb4], bv[jb + o + 2u * ldb4], bv[jb + o + 3u * ldb4]);
        p1 = mat4x4f(bv[jB + o], bv[jB + o + ldb4], bv[jB + o + 2u * ldb4], bv[jB + o + 3u * ldb4]);
      }
      rank4(&t, p0, p1, av[ra0 + q], av[ra1 + q], av[ra2 + q], av[ra3 + q], av[ra4 + q], av[ra5 + q], av[ra6 + q], av[ra7 + q]);
    }
  }

  return t;
}

// Where a tile's row i starts: the split's partial product [split][batch][m][n], or the batch's block of C.
fn tileRow(t: Tile, i: u32) -> u32 {
  let splitK = params.splits > 1u;
  let base = select(t.batch * params.batchC, (t.split * params.batches + t.batch) * params.m * params.n, splitK);
  return base + i * select(params.ldc, params.n, splitK);
}

@compute @workgroup_size(WG)
fn main_v8(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = v8Tile(wid, nwg, li);
  if (t.live == 0u) { return; }
  let splitK = params.splits > 1u;
  let base = tileRow(t, 0u);
  let ld = select(params.ldc, params.n, splitK);
  let bb = t.batch * params.batchBias;
  // constant indices into t.c: a computed one is a per-lane gather from memory on SwiftShader
  put4(base, ld, bb, t.i0 + 0u, t.j0, t.c[0]); put4(base, ld, bb, t.i0 + 0u, t.j0 + 4u, t.c[1]);
  put4(base, ld, bb, t.i0 + 1u, t.j0, t.c[2]); put4(base, ld, bb, t.i0 + 1u, t.j0 + 4u, t.c[3]);
  put4(base, ld, bb, t.i0 + 2u, t.j0, t.c[4]); put4(base, ld, bb, t.i0 + 2u, t.j0 + 4u, t.c[5]);
  put4(base, ld, bb, t.i0 + 3u, t.j0, t.c[6]); put4(base, ld, bb, t.i0 + 3u, t.j0 + 4u, t.c[7]);
  put4(base, ld, bb, t.i0 + 4u, t.j0, t.c[8]); put4(base, ld, bb, t.i0 + 4u, t.j0 + 4u, t.c[9]);
  put4(base, ld, bb, t.i0 + 5u, t.j0, t.c[10]); put4(base, ld, bb, t.i0 + 5u, t.j0 + 4u, t.c[11]);
  put4(base, ld, bb, t.i0 + 6u, t.j0, t.c[12]); put4(base, ld, bb, t.i0 + 6u, t.j0 + 4u, t.c[13]);
  put4(base, ld, bb, t.i0 + 7u, t.j0, t.c[14]); put4(base, ld, bb, t.i0 + 7u, t.j0 + 4u, t.c[15]);
}

// main_v8 storing vec4s: n, ldc and the batch offset of C multiples of 4 too (so a vec4 of C is in or out whole).
@compute @workgroup_size(WG)
fn main_v8c(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = v8Tile(wid, nwg, li);
  if (t.live == 0u) { return; }
  let bb = t.batch * params.batchBias;
  var b0 = vec4f(0.0);
  var b1 = vec4f(0.0);
  if (HAS_BIAS && params.splits == 1u) {
    b0 = vec4f(biasAt(bb + t.j0), biasAt(bb + t.j0 + 1u), biasAt(bb + t.j0 + 2u), biasAt(bb + t.j0 + 3u));
    b1 = vec4f(biasAt(bb + t.j0 + 4u), biasAt(bb + t.j0 + 5u), biasAt(bb + t.j0 + 6u), biasAt(bb + t.j0 + 7u));
  }
  let second = t.j0 + 4u < params.n;
  let base = tileRow(t, t.i0) / 4u + t.j0 / 4u;
  let ld4 = select(params.ldc, params.n, params.splits > 1u) / 4u;
  // unrolled: constant indices into t.c (a computed one is a per-lane gather from memory on SwiftShader)
  if (t.i0 + 0u < params.m) { cv[base + 0u * ld4] = act4(t.c[0] + b0); if (second) { cv[base + 0u * ld4 + 1u] = act4(t.c[1] + b1); } }
  if (t.i0 + 1u < params.m) { cv[base + 1u * ld4] = act4(t.c[2] + b0); if (second) { cv[base + 1u * ld4 + 1u] = act4(t.c[3] + b1); } }
  if (t.i0 + 2u < params.m) { cv[base + 2u * ld4] = act4(t.c[4] + b0); if (second) { cv[base + 2u * ld4 + 1u] = act4(t.c[5] + b1); } }
  if (t.i0 + 3u < params.m) { cv[base + 3u * ld4] = act4(t.c[6] + b0); if (second) { cv[base + 3u * ld4 + 1u] = act4(t.c[7] + b1); } }
  if (t.i0 + 4u < params.m) { cv[base + 4u * ld4] = act4(t.c[8] + b0); if (second) { cv[base + 4u * ld4 + 1u] = act4(t.c[9] + b1); } }
  if (t.i0 + 5u < params.m) { cv[base + 5u * ld4] = act4(t.c[10] + b0); if (second) { cv[base + 5u * ld4 + 1u] = act4(t.c[11] + b1); } }
  if (t.i0 + 6u < params.m) { cv[base + 6u * ld4] = act4(t.c[12] + b0); if (second) { cv[base + 6u * ld4 + 1u] = act4(t.c[13] + b1); } }
  if (t.i0 + 7u < params.m) { cv[base + 7u * ld4] = act4(t.c[14] + b0); if (second) { cv[base + 7u * ld4 + 1u] = act4(t.c[15] + b1); } }
}
