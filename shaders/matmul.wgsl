// The general matmul kernels: `main` (8x8 scalar loads, any shape), `main_vec4` (the GPUs') and `reduce` (split-K);
// linked behind shaders/lib/matmul-common.wgsl (the layouts, Params, bindings, biasAt, put4).

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
    c[batch * params.batchC + (r / n) * params.ldc + j] = act(s + biasAt(batch * params.batchBias + j));
  }
}
