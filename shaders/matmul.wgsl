// Dense f32 matmul C = op(A)·op(B) (+ bias[n] on every row) for the layouts backprop needs (A·B, A·Bᵀ, Aᵀ·B).
//
// Algorithm: register blocking without workgroup memory or barriers. Each invocation owns one block of C
// and walks K, doing a rank-1 update of its block per k (the outer-product form of the classic GEMM
// inner kernel, as in Volkov & Demmel, "Benchmarking GPUs to tune dense linear algebra", SC'08, and
// the micro-kernels of Goto & van de Geijn, "Anatomy of high-performance matrix multiplication",
// TOMS 2008). K can be split over the z grid dimension ("split-K", as in CUTLASS): each split writes
// a partial product and the `reduce` entry point sums them, adding the bias there instead.
//
// Entry points (all over row-major buffers; op(A) is m×k, stored k×m when TRANS_A; op(B) is k×n,
// stored n×k when TRANS_B):
//   main      8x8 block, scalar loads: any m, n, k. The CPU adapters' kernel: SwiftShader (Subzero)
//             turns every storage load into an emulated 4-lane gather plus a bounds clamp, so loads
//             per flop decide; 8x8 needs half the loads of 4x4 per flop. Larger blocks spill and
//             unrolling K grows the code, both slower there (docs/benchmarks.md has the figures).
//   main_vec4 4x4 block, vec4 loads: needs m % 4 == 0 when TRANS_A, n % 4 == 0 unless TRANS_B, and
//             k % 4 == 0 unless the layout is Aᵀ·B (the only one whose vec4s do not run along k).
//             The GPUs' kernel for dense, unbatched operands.
//   main_v8   8x8 block, vec4 loads, batched and strided: the CPU adapters' kernel where the same alignment
//             holds (and lda, ldb, the batch offsets are multiples of 4); `main` is their fallback.
//   reduce    C = Σ_split partial + bias, grid-stride over m·n (per batch).
// Edges: block origins are clamped so loads stay in bounds; stores are guarded per element.
//
// Batched (the model axis of a population, src/nn/population.ts): `main` and `reduce` take `batches`
// independent products in one dispatch, batch b reading A at b·batchA, B at b·batchB and writing C at
// b·batchC (bias at b·batchBias); rows of A, B and C are lda, ldb, ldc apart, so a column block of a
// wider matrix ([n, M·H], model b's H columns) is an operand, and batchA = 0 shares one A (the input
// rows) among all. The z grid dimension runs over batches × splits.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // K range of the split z: [z * kchunk, min(k, (z + 1) * kchunk)); a multiple of 4 for main_vec4.
  kchunk: u32,
  // Blocks per block-row (ceil(n / block width)) and blocks in total.
  nb: u32,
  blocks: u32,
  // reduce: how many partial products `part` holds.
  splits: u32,
  // Row strides of the stored A, B and C (A: k or m, B: n or k, C: n for one plain product).
  lda: u32,
  ldb: u32,
  ldc: u32,
  // Batched products: how many, and where batch b's A, B, C and bias start (main_vec4: batches = 1).
  batches: u32,
  batchA: u32,
  batchB: u32,
  batchC: u32,
  batchBias: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
// The same two bindings seen as vec4 (main_vec4 only; an entry point uses one view or the other).
@group(0) @binding(0) var<storage, read> av: array<vec4f>;
@group(0) @binding(1) var<storage, read> bv: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
// C seen as vec4 (main_v8c only).
@group(0) @binding(2) var<storage, read_write> cv: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> part: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Add bias[j] when writing C (main/main_vec4 without split, or reduce).
override HAS_BIAS: bool = false;
override WG: u32 = 64;

fn biasAt(j: u32) -> f32 {
  if (HAS_BIAS) { return bias[j]; }
  return 0.0;
}

// Store four consecutive columns j..j+3 of row i at `base` (the split's slice of C, or the batch's block of
// C with rows `ld` apart), bias from `bb` on, guarded.
fn put4(base: u32, ld: u32, bb: u32, i: u32, j: u32, v: vec4f) {
  let m = params.m;
  let n = params.n;
  if (i >= m) { return; }
  let row = base + i * ld;
  if (j < n) { c[row + j] = v.x + biasAt(bb + j); }
  if (j + 1u < n) { c[row + j + 1u] = v.y + biasAt(bb + j + 1u); }
  if (j + 2u < n) { c[row + j + 2u] = v.z + biasAt(bb + j + 2u); }
  if (j + 3u < n) { c[row + j + 3u] = v.w + biasAt(bb + j + 3u); }
}

// Which block this invocation owns (blocks are numbered row-major over C), and whether it is real.
fn blockOf(wid: vec3u, nwg: vec3u, li: u32) -> vec2u {
  let blk = (wid.y * nwg.x + wid.x) * WG + li;
  return vec2u(min(blk, params.blocks - 1u), select(0u, 1u, blk < params.blocks));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m = params.m;
  let n = params.n;
  let k = params.k;
  let blk = blockOf(wid, nwg, li);
  let i0 = (blk.x / params.nb) * 8u;
  let j0 = (blk.x % params.nb) * 8u;
  let batch = wid.z / params.splits;
  let split = wid.z % params.splits;
  let lda = params.lda;
  let ldb = params.ldb;
  // Offsets of the 8 rows of op(A) and 8 columns of op(B) at k = 0, and their steps per k.
  let sa = select(1u, lda, TRANS_A);
  let sb = select(ldb, 1u, TRANS_B);
  let ra = min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(m - 1u));
  let rA = min(vec4u(i0 + 4u) + vec4u(0u, 1u, 2u, 3u), vec4u(m - 1u));
  let ca = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(n - 1u));
  let cA = min(vec4u(j0 + 4u) + vec4u(0u, 1u, 2u, 3u), vec4u(n - 1u));
  let oa0 = select(ra * lda, ra, TRANS_A) + batch * params.batchA;
  let oa1 = select(rA * lda, rA, TRANS_A) + batch * params.batchA;
  let ob0 = select(ca, ca * ldb, TRANS_B) + batch * params.batchB;
  let ob1 = select(cA, cA * ldb, TRANS_B) + batch * params.batchB;

  var c00 = vec4f(0.0); var c01 = vec4f(0.0); var c10 = vec4f(0.0); var c11 = vec4f(0.0);
  var c20 = vec4f(0.0); var c21 = vec4f(0.0); var c30 = vec4f(0.0); var c31 = vec4f(0.0);
  var c40 = vec4f(0.0); var c41 = vec4f(0.0); var c50 = vec4f(0.0); var c51 = vec4f(0.0);
  var c60 = vec4f(0.0); var c61 = vec4f(0.0); var c70 = vec4f(0.0); var c71 = vec4f(0.0);

  let kbeg = split * params.kchunk;
  let kend = min(k, kbeg + params.kchunk);
  for (var kk = kbeg; kk < kend; kk++) {
    let pa = kk * sa;
    let pb = kk * sb;
    let a0 = a[oa0.x + pa]; let a1 = a[oa0.y + pa]; let a2 = a[oa0.z + pa]; let a3 = a[oa0.w + pa];
    let a4 = a[oa1.x + pa]; let a5 = a[oa1.y + pa]; let a6 = a[oa1.z + pa]; let a7 = a[oa1.w + pa];
    let b0 = vec4f(b[ob0.x + pb], b[ob0.y + pb], b[ob0.z + pb], b[ob0.w + pb]);
    let b1 = vec4f(b[ob1.x + pb], b[ob1.y + pb], b[ob1.z + pb], b[ob1.w + pb]);
    c00 += a0 * b0; c01 += a0 * b1;
    c10 += a1 * b0; c11 += a1 * b1;
    c20 += a2 * b0; c21 += a2 * b1;
    c30 += a3 * b0; c31 += a3 * b1;
    c40 += a4 * b0; c41 += a4 * b1;
    c50 += a5 * b0; c51 += a5 * b1;
    c60 += a6 * b0; c61 += a6 * b1;
    c70 += a7 * b0; c71 += a7 * b1;
  }

  if (blk.y == 0u) { return; }
  // Split K: partials packed [split][batch][m][n] (reduce adds the bias); else the batch's block of C.
  let splitK = params.splits > 1u;
  let base = select(batch * params.batchC, (split * params.batches + batch) * m * n, splitK);
  let ld = select(params.ldc, n, splitK);
  let bb = batch * params.batchBias;
  put4(base, ld, bb, i0, j0, c00); put4(base, ld, bb, i0, j0 + 4u, c01);
  put4(base, ld, bb, i0 + 1u, j0, c10); put4(base, ld, bb, i0 + 1u, j0 + 4u, c11);
  put4(base, ld, bb, i0 + 2u, j0, c20); put4(base, ld, bb, i0 + 2u, j0 + 4u, c21);
  put4(base, ld, bb, i0 + 3u, j0, c30); put4(base, ld, bb, i0 + 3u, j0 + 4u, c31);
  put4(base, ld, bb, i0 + 4u, j0, c40); put4(base, ld, bb, i0 + 4u, j0 + 4u, c41);
  put4(base, ld, bb, i0 + 5u, j0, c50); put4(base, ld, bb, i0 + 5u, j0 + 4u, c51);
  put4(base, ld, bb, i0 + 6u, j0, c60); put4(base, ld, bb, i0 + 6u, j0 + 4u, c61);
  put4(base, ld, bb, i0 + 7u, j0, c70); put4(base, ld, bb, i0 + 7u, j0 + 4u, c71);
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m = params.m;
  let n = params.n;
  let k = params.k;
  let blk = blockOf(wid, nwg, li);
  let i0 = (blk.x / params.nb) * 4u;
  let j0 = (blk.x % params.nb) * 4u;
  let k4 = k / 4u;
  // vec4 offsets at k = 0 and steps per 4 k. A: rows (k-contiguous) or one vec4 of rows per k (Aᵀ).
  let ra = min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(m - 1u)) * k4;
  let ta = i0 / 4u;
  let cb = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(n - 1u)) * k4;
  let tb = j0 / 4u;
  let m4 = m / 4u;
  let n4 = n / 4u;

  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  let kbeg = wid.z * params.kchunk;
  let kend = min(k, kbeg + params.kchunk);
  var kk = kbeg;
  for (; kk + 4u <= kend; kk += 4u) {
    let q = kk / 4u;
    // ar: rows of op(A)[i0..i0+3][kk..kk+3] as columns, i.e. ar[r] = op(A)[i0 + r][kk..kk+3].
    var ar: mat4x4f;
    if (TRANS_A) {
      let o = kk * m4 + ta;
      ar = transpose(mat4x4f(av[o], av[o + m4], av[o + 2u * m4], av[o + 3u * m4]));
    } else {
      ar = mat4x4f(av[ra.x + q], av[ra.y + q], av[ra.z + q], av[ra.w + q]);
    }
    // bk: bk[t] = op(B)[kk + t][j0..j0+3].
    var bk: mat4x4f;
    if (TRANS_B) {
      bk = transpose(mat4x4f(bv[cb.x + q], bv[cb.y + q], bv[cb.z + q], bv[cb.w + q]));
    } else {
      let o = kk * n4 + tb;
      bk = mat4x4f(bv[o], bv[o + n4], bv[o + 2u * n4], bv[o + 3u * n4]);
    }
    acc0 += bk * ar[0];
    acc1 += bk * ar[1];
    acc2 += bk * ar[2];
    acc3 += bk * ar[3];
  }
  // k % 4 tail: only reached for Aᵀ·B (both operands are vec4 along m and n there, not along k).
  for (; kk < kend; kk++) {
    var ac: vec4f;
    if (TRANS_A) { ac = av[kk * m4 + ta]; }
    else { ac = vec4f(av[ra.x + kk / 4u][kk % 4u], av[ra.y + kk / 4u][kk % 4u], av[ra.z + kk / 4u][kk % 4u], av[ra.w + kk / 4u][kk % 4u]); }
    var br: vec4f;
    if (TRANS_B) { br = vec4f(bv[cb.x + kk / 4u][kk % 4u], bv[cb.y + kk / 4u][kk % 4u], bv[cb.z + kk / 4u][kk % 4u], bv[cb.w + kk / 4u][kk % 4u]); }
    else { br = bv[kk * n4 + tb]; }
    acc0 += ac.x * br;
    acc1 += ac.y * br;
    acc2 += ac.z * br;
    acc3 += ac.w * br;
  }

  if (blk.y == 0u) { return; }
  let base = wid.z * m * n;
  put4(base, n, 0u, i0, j0, acc0);
  put4(base, n, 0u, i0 + 1u, j0, acc1);
  put4(base, n, 0u, i0 + 2u, j0, acc2);
  put4(base, n, 0u, i0 + 3u, j0, acc3);
}

// 8x8 block with vec4 loads (main_v8): the CPU adapters' kernel for aligned operands. Every storage load costs
// SwiftShader about the same whether it reads one float or four, so reading A and B four floats at a time
// (8 + 8 loads per 4 k for 256 multiply-adds, against 64 scalar loads in `main`) is what makes it faster there.
// Needs (matmulV8Eligible): A·B and A·Bᵀ k % 4 == 0; A·B n % 4 == 0; Aᵀ·B m % 4 == 0 and n % 4 == 0; lda, ldb and
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
  if (t.i0 + 0u < params.m) { cv[base + 0u * ld4] = t.c[0] + b0; if (second) { cv[base + 0u * ld4 + 1u] = t.c[1] + b1; } }
  if (t.i0 + 1u < params.m) { cv[base + 1u * ld4] = t.c[2] + b0; if (second) { cv[base + 1u * ld4 + 1u] = t.c[3] + b1; } }
  if (t.i0 + 2u < params.m) { cv[base + 2u * ld4] = t.c[4] + b0; if (second) { cv[base + 2u * ld4 + 1u] = t.c[5] + b1; } }
  if (t.i0 + 3u < params.m) { cv[base + 3u * ld4] = t.c[6] + b0; if (second) { cv[base + 3u * ld4 + 1u] = t.c[7] + b1; } }
  if (t.i0 + 4u < params.m) { cv[base + 4u * ld4] = t.c[8] + b0; if (second) { cv[base + 4u * ld4 + 1u] = t.c[9] + b1; } }
  if (t.i0 + 5u < params.m) { cv[base + 5u * ld4] = t.c[10] + b0; if (second) { cv[base + 5u * ld4 + 1u] = t.c[11] + b1; } }
  if (t.i0 + 6u < params.m) { cv[base + 6u * ld4] = t.c[12] + b0; if (second) { cv[base + 6u * ld4 + 1u] = t.c[13] + b1; } }
  if (t.i0 + 7u < params.m) { cv[base + 7u * ld4] = t.c[14] + b0; if (second) { cv[base + 7u * ld4 + 1u] = t.c[15] + b1; } }
}

@compute @workgroup_size(WG)
fn reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = params.n;
  let mn = params.m * n;
  let total = mn * params.batches;
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    var s = 0.0;
    for (var z = 0u; z < params.splits; z++) { s += part[z * total + i]; }
    let batch = i / mn;
    let r = i % mn;
    let j = r % n;
    c[batch * params.batchC + (r / n) * params.ldc + j] = s + biasAt(batch * params.batchBias + j);
  }
}
