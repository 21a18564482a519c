// 8x8 vec4 blocks with A's loads shared by the 4 lanes of a subgroup (main_v8s, variant `block8sg`): the CPU adapters'
// kernel for products that share A (one product, or a batch with batchA = 0: the first layer of a population,
// X · [W¹ … Wᴹ]), where subgroups are 4 lanes (SwiftShader). src/ops/matmul.ts links it behind `enable subgroups;`,
// shaders/lib/matmul-common.wgsl (Params, bindings, biasAt, WG, TRANS_A) and shaders/matmul-v8.wgsl (rank4).
//
// Why: SwiftShader runs 4 invocations as the 4 lanes of a CPU SIMD group and turns every storage load into a
// per-lane gather, so in block8vec4 the 4 lanes each pay the 8 vec4 loads of A per 4 k even when they read the
// same rows. Here the 4 lanes of a subgroup own 4 adjacent column blocks of the same 8 rows: each loads 2 of the
// 8 vec4s of A and takes the other 6 from its neighbours by subgroupBroadcast (a register shuffle there): 10 loads
// per 4 k instead of 16.
//
// The columns are every batch's side by side (batches·n of them, n % 4 == 0), cut into blocks of 8 over that whole
// width, so a block may straddle two batches (a population's 52-wide blocks waste no half block): vec4 column g4 is
// vec4 column g4 % (n/4) of batch g4 / (n/4), read from B and written to C at that batch's offsets.
// Params: nb = column blocks of 8 over the whole width; blocks = quads (one row block x 4 column blocks) in all.
// It relies on subgroups of 4 consecutive invocations (lane i % 4 of invocation i, as SwiftShader runs them): the
// host picks it only on a device where a probe of that layout passed (shaders/subgroup-quads.wgsl).

// Where vec4 column g4 of the whole width lives: x = its batch, y = its vec4 column within the batch.
fn wideColumn(g4: u32) -> vec2u {
  let nv = params.n / 4u;
  return vec2u(g4 / nv, g4 % nv);
}

// Vec4 index of row 0, vec4 column g4 of C (or of the split's partial product, packed [split][batch][m][n]); rows
// are `wideLd()` vec4s apart.
fn wideC(split: u32, g4: u32) -> u32 {
  let col = wideColumn(g4);
  if (params.splits > 1u) { return (split * params.batches + col.x) * params.m * (params.n / 4u) + col.y; }
  return col.x * params.batchC / 4u + col.y;
}

fn wideLd() -> u32 {
  return select(params.ldc, params.n, params.splits > 1u) / 4u;
}

// Bias of the 4 columns at vec4 column g4 (zero with a split: reduce adds it).
fn wideBias(g4: u32) -> vec4f {
  if (params.splits > 1u) { return vec4f(0.0); }
  let col = wideColumn(g4);
  let j = col.x * params.batchBias + 4u * col.y;
  return vec4f(biasAt(j), biasAt(j + 1u), biasAt(j + 2u), biasAt(j + 3u));
}

@compute @workgroup_size(WG)
fn main_v8s(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m = params.m;
  let flat = (wid.y * nwg.x + wid.x) * WG + li;
  let quad = flat / 4u;
  let r = flat % 4u;
  let nq = (params.nb + 3u) / 4u;
  let g = min(quad, params.blocks - 1u);
  let i0 = (g / nq) * 8u;
  let jblk = (g % nq) * 4u + r;
  let w4 = params.batches * (params.n / 4u);
  let ga = min(2u * jblk, w4 - 1u);
  let gb = min(2u * jblk + 1u, w4 - 1u);
  let ca = wideColumn(ga);
  let cb = wideColumn(gb);
  let jb = ca.x * params.batchB / 4u + ca.y;
  let jB = cb.x * params.batchB / 4u + cb.y;
  let lda4 = params.lda / 4u;
  let ldb4 = params.ldb / 4u;
  let kbeg = wid.z * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);

  var t: array<vec4f, 16>;
  var kk = kbeg;
  if (TRANS_A) {
    // A stored k×m: per 4 k the rows kk..kk+3 at the vec4 columns of rows i0..i0+3 and i0+4..i0+7 of op(A); lane r
    // loads row kk + r of both, and the four rows, transposed, are two 4x4 blocks of op(A) (as in v8Accumulate).
    let ia = min(i0 / 4u, m / 4u - 1u);
    let iA = min(i0 / 4u + 1u, m / 4u - 1u);
    // The k % 4 rows past kend in the last step: A's row is zero and B's a copy of row kend - 1, so they add 0
    // (not NaN unless that row of B is inf or NaN, where the true sum is not finite either)
    let last = kend - 1u;
    for (; kk < kend; kk += 4u) {
      let ya = select(vec4f(0.0), av[ia + min(kk + r, last) * lda4], kk + r < kend);
      let yb = select(vec4f(0.0), av[iA + min(kk + r, last) * lda4], kk + r < kend);
      let q0 = transpose(mat4x4f(subgroupBroadcast(ya, 0u), subgroupBroadcast(ya, 1u), subgroupBroadcast(ya, 2u), subgroupBroadcast(ya, 3u)));
      let q1 = transpose(mat4x4f(subgroupBroadcast(yb, 0u), subgroupBroadcast(yb, 1u), subgroupBroadcast(yb, 2u), subgroupBroadcast(yb, 3u)));
      let o1 = min(kk + 1u, last) * ldb4;
      let o2 = min(kk + 2u, last) * ldb4;
      let o3 = min(kk + 3u, last) * ldb4;
      let p0 = mat4x4f(bv[jb + kk * ldb4], bv[jb + o1], bv[jb + o2], bv[jb + o3]);
      let p1 = mat4x4f(bv[jB + kk * ldb4], bv[jB + o1], bv[jB + o2], bv[jB + o3]);
      rank4(&t, p0, p1, q0[0], q0[1], q0[2], q0[3], q1[0], q1[1], q1[2], q1[3]);
    }
  } else {
    // A·B: lane r loads rows i0 + 2r and i0 + 2r + 1 of A; row t of the block comes from lane t / 2 (k % 4 == 0).
    let ra = min(i0 + 2u * r, m - 1u) * lda4;
    let rA = min(i0 + 2u * r + 1u, m - 1u) * lda4;
    for (; kk < kend; kk += 4u) {
      let q = kk / 4u;
      let o = kk * ldb4;
      let p0 = mat4x4f(bv[jb + o], bv[jb + o + ldb4], bv[jb + o + 2u * ldb4], bv[jb + o + 3u * ldb4]);
      let p1 = mat4x4f(bv[jB + o], bv[jB + o + ldb4], bv[jB + o + 2u * ldb4], bv[jB + o + 3u * ldb4]);
      let ya = av[ra + q];
      let yb = av[rA + q];
      rank4(&t, p0, p1, subgroupBroadcast(ya, 0u), subgroupBroadcast(yb, 0u), subgroupBroadcast(ya, 1u), subgroupBroadcast(yb, 1u),
            subgroupBroadcast(ya, 2u), subgroupBroadcast(yb, 2u), subgroupBroadcast(ya, 3u), subgroupBroadcast(yb, 3u));
    }
  }
  if (quad >= params.blocks || jblk >= params.nb) { return; }
  let second = 2u * jblk + 1u < w4;
  let b0 = wideBias(ga);
  let b1 = wideBias(gb);
  // row 0 of the two vec4 columns, then rows ld vec4s apart (one division per column, not per store)
  let ld = wideLd();
  let oa = wideC(wid.z, ga) + i0 * ld;
  let ob = wideC(wid.z, gb) + i0 * ld;
  // unrolled: constant indices into t (a computed one is a per-lane gather from memory on SwiftShader)
  if (i0 + 0u < m) { cv[oa] = act4(t[0] + b0); if (second) { cv[ob] = act4(t[1] + b1); } }
  if (i0 + 1u < m) { cv[oa + ld] = act4(t[2] + b0); if (second) { cv[ob + ld] = act4(t[3] + b1); } }
  if (i0 + 2u < m) { cv[oa + 2u * ld] = act4(t[4] + b0); if (second) { cv[ob + 2u * ld] = act4(t[5] + b1); } }
  if (i0 + 3u < m) { cv[oa + 3u * ld] = act4(t[6] + b0); if (second) { cv[ob + 3u * ld] = act4(t[7] + b1); } }
  if (i0 + 4u < m) { cv[oa + 4u * ld] = act4(t[8] + b0); if (second) { cv[ob + 4u * ld] = act4(t[9] + b1); } }
  if (i0 + 5u < m) { cv[oa + 5u * ld] = act4(t[10] + b0); if (second) { cv[ob + 5u * ld] = act4(t[11] + b1); } }
  if (i0 + 6u < m) { cv[oa + 6u * ld] = act4(t[12] + b0); if (second) { cv[ob + 6u * ld] = act4(t[13] + b1); } }
  if (i0 + 7u < m) { cv[oa + 7u * ld] = act4(t[14] + b0); if (second) { cv[ob + 7u * ld] = act4(t[15] + b1); } }
}
