// Batch normalization backward in closed form (the seed's batchnorm_backward_alt, 'alternative'), x is [n, d] row-major:
//   dbeta = sum_i g, dgamma = sum_i g xhat, dx = gamma invStd / N (N g - dbeta - xhat dgamma), g = dout (ReLU-masked).
// Linked behind batchnorm-backward.wgsl (its Params, bindings, COLS / ROWS / WG / RELU overrides, dout1 / dout4 and the
// column sums `sumDoutXhat` and `combine`) by src/ops/norm-columns.ts. Its kernels, by the shape of the array:
//   small batches (one chunk, src/ops/batchnorm-backward.ts): `alternativeColumns`, sums then dx per invocation's columns,
//     one dispatch; several chunks: the column sums, `combine`, then `dxAlternative` elementwise;
//   large arrays on GPUs (src/ops/batchnorm-backward-shapes.ts), after the usual treatment of bandwidth-bound
//     normalization backward passes (llm.c's layernorm_backward, Apex's FastLayerNorm: write down the bytes, do one pass
//     where the data fits on chip):
//   fused (the batch fits in registers: at most ROWS x RMAX rows): `fusedColumns`, one workgroup per COLS columns
//     owning every row. Each invocation keeps its rows' g and xhat in registers (at most RMAX rows), the row-lanes
//     tree-sum the two column sums in workgroup memory, and the same invocation writes dx from its registers: dout and
//     xhat are read once and dx written once, the 12·N·D bytes the backward must move, in one dispatch.
//   split (tall, N >> D, or batches too large for registers): the column sums over many row splits (`sumDoutXhat` and
//     `combine`, with enough splits to fill the GPU), then `dxTiles`: COLS x ROWS invocations over a column tile and a
//     block of rows, each column's factors loaded once, rows unrolled 4 deep so each invocation has 8 loads in flight
//     (20·N·D bytes in all: the sums' pass reads dout and xhat once more).
// Columns are lanes (COLS adjacent columns: a warp's loads of a row are consecutive), ragged d guarded per column.

// Alternative, elementwise: dx = gamma invStd / N * (N dout - dbeta - xhat dgamma); sumA = dbeta, sumB = dgamma.
@compute @workgroup_size(WG)
fn dxAlternative(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  let nf = f32(params.n);
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    let j = i % params.d;
    dx[i] = gamma[j] * invStd[j] / nf * (nf * dout1(i) - sumA[j] - xhat[i] * sumB[j]);
  }
}

// Alternative, one chunk, grid ceil(d / (8 WG)): partA = dbeta, partB = dgamma, then dx for the same columns.
// Two quads of columns (c, e) per invocation: the loop and addressing work per column halves (15% faster
// at N=100, D=500 on SwiftShader). Surplus lanes of e past d - 1 redo column d - 1 (see quadColumns).
@compute @workgroup_size(WG)
fn alternativeColumns(@builtin(global_invocation_id) gid: vec3u) {
  let n = params.n;
  let d = params.d;
  if (8u * gid.x >= d) { return; }
  let c = quadColumns(2u * gid.x, d);
  let e = quadColumns(2u * gid.x + 1u, d);
  var sa = vec4f(0.0);
  var sb = vec4f(0.0);
  var ta = vec4f(0.0);
  var tb = vec4f(0.0);
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    let h = r * d + e;
    let g = dout4(i);
    let g2 = dout4(h);
    sa += g;
    sb += g * load4(&xhat, i);
    ta += g2;
    tb += g2 * load4(&xhat, h);
  }
  store4(&partA, c, sa);
  store4(&partB, c, sb);
  store4(&partA, e, ta);
  store4(&partB, e, tb);
  let nf = f32(n);
  let k = load4(&gamma, c) * load4(&invStd, c) / nf;
  let k2 = load4(&gamma, e) * load4(&invStd, e) / nf;
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    let h = r * d + e;
    store4(&dx, i, k * (nf * dout4(i) - sa - load4(&xhat, i) * sb));
    store4(&dx, h, k2 * (nf * dout4(h) - ta - load4(&xhat, h) * tb));
  }
}

// Rows an invocation of `fusedColumns` keeps in registers (n <= ROWS * RMAX).
const RMAX: u32 = 32u;

// Fused: workgroup wid.x owns columns wid.x * COLS + lid.x over every row; row-lane lid.y has rows lid.y + ROWS t.
@compute @workgroup_size(COLS, ROWS)
fn fusedColumns(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let n = params.n;
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let live = col < d;
  // a surplus column lane reads column d - 1 and stores nothing
  let c = min(col, d - 1u);
  var g: array<f32, RMAX>;
  var xh: array<f32, RMAX>;
  var s = vec2f(0.0);
  for (var t = 0u; t < RMAX; t++) {
    let r = lid.y + t * ROWS;
    if (r < n) {
      let i = r * d + c;
      g[t] = dout1(i);
      xh[t] = xhat[i];
      s += vec2f(g[t], g[t] * xh[t]);
    }
  }
  let sums = treeSum(s, lid.x, lid.y, ROWS, COLS);
  if (!live) { return; }
  if (lid.y == 0u) {
    partA[col] = sums.x;
    partB[col] = sums.y;
  }
  let nf = f32(n);
  let k = gamma[col] * invStd[col] / nf;
  for (var t = 0u; t < RMAX; t++) {
    let r = lid.y + t * ROWS;
    if (r < n) { dx[r * d + col] = k * (nf * g[t] - sums.x - xh[t] * sums.y); }
  }
}

// dx of a block of rows: sumA = dbeta, sumB = dgamma (the combined column sums); rows [wid.y * chunkRows, ...).
@compute @workgroup_size(COLS, ROWS)
fn dxTiles(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let n = params.n;
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  if (col >= d) { return; }
  let nf = f32(n);
  let k = gamma[col] * invStd[col] / nf;
  let db = sumA[col];
  let dg = sumB[col];
  let r0 = wid.y * params.chunkRows;
  let r1 = min(r0 + params.chunkRows, n);
  var r = r0 + lid.y;
  for (; r + 3u * ROWS < r1; r += 4u * ROWS) {
    let i = r * d + col;
    let s = ROWS * d;
    let g = vec4f(dout1(i), dout1(i + s), dout1(i + 2u * s), dout1(i + 3u * s));
    let x = vec4f(xhat[i], xhat[i + s], xhat[i + 2u * s], xhat[i + 3u * s]);
    let v = k * (nf * g - db - x * dg);
    dx[i] = v.x;
    dx[i + s] = v.y;
    dx[i + 2u * s] = v.z;
    dx[i + 3u * s] = v.w;
  }
  for (; r < r1; r += ROWS) {
    let i = r * d + col;
    dx[i] = k * (nf * dout1(i) - db - xhat[i] * dg);
  }
}
