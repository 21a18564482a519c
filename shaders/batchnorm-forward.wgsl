// Batch normalization forward (Ioffe & Szegedy, ICML 2015; cs231n batchnorm_forward), x is [n, d] row-major.
//
// Train mode, per feature (column): mean and BIASED variance over the n rows, computed stably. The rows
// are cut into `chunks` chunks of `chunkRows`; a workgroup owns COLS columns x one chunk, and computes the
// chunk's mean and M2 = sum (x - chunkMean)^2 with two passes over the chunk (tree reductions over its
// ROWS row-lanes); `merge` combines the chunks with the pairwise update of Chan, Golub & LeVeque
// ("Updating formulae and a pairwise algorithm for computing sample variances", 1979): never E[x^2] - E[x]^2.
// `normalize` then writes xhat = (x - mean) * invStd and out = gamma * xhat + beta elementwise; the
// running statistics move as r = momentum * r + (1 - momentum) * stat where the statistics are final.
// Test mode (`normalizeTest`) normalizes with the running statistics.
//
// Small batches (one chunk) take `trainColumns` instead: one dispatch, no workgroup memory, no barriers.
// Each invocation owns 4 adjacent columns and loops over every row three times (sum, then the M2 of
// the same two-pass algorithm, then normalize). Barriers and shared memory are very slow on SwiftShader
// (Chromium's CPU adapter, where an invocation is a SIMD lane and a barrier a coroutine switch), and
// small batches are launch-bound on GPUs, so fusing the three passes pays on both.

struct Params {
  n: u32,
  d: u32,
  chunkRows: u32,
  chunks: u32,
  eps: f32,
  momentum: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(5) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> invStd: array<f32>;
@group(0) @binding(8) var<storage, read_write> xhat: array<f32>;
@group(0) @binding(9) var<storage, read_write> partMean: array<f32>;
@group(0) @binding(10) var<storage, read_write> partM2: array<f32>;
@group(0) @binding(11) var<uniform> params: Params;

// Reduction tile: COLS adjacent columns (coalesced loads) x ROWS row-lanes; COLS * ROWS <= 256, powers of 2.
override COLS: u32 = 32;
override ROWS: u32 = 8;
// Elementwise workgroup size (`trainColumns`: invocations of 4 columns each), and whether `normalize` also stores xhat for the backward pass.
override WG: u32 = 256;
override SAVE: bool = false;
// ReLU fused behind: out = max(0, gamma * xhat + beta) (the fused op's backward masks its gradient with out > 0).
override RELU: bool = false;

// Sum of `v` over the ROWS row-lanes of each column, returned to every lane (shaders/lib/tree-sum.wgsl, linked in front).
fn rowSum(v: f32, lid: vec3u) -> f32 {
  return treeSum(vec2f(v, 0.0), lid.x, lid.y, ROWS, COLS).x;
}

// Final statistics of column `col`: saved mean and invStd, running averages updated.
fn writeStats(col: u32, m: f32, v: f32) {
  mean[col] = m;
  invStd[col] = 1.0 / sqrt(v + params.eps);
  runningMean[col] = params.momentum * runningMean[col] + (1.0 - params.momentum) * m;
  runningVar[col] = params.momentum * runningVar[col] + (1.0 - params.momentum) * v;
}

// Grid (ceil(d / COLS), chunks): mean and M2 of one chunk of rows for COLS columns, two passes.
@compute @workgroup_size(COLS, ROWS)
fn stats(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let inside = col < d;
  let r0 = wid.y * params.chunkRows;
  let r1 = min(r0 + params.chunkRows, params.n);
  let count = f32(r1 - r0);
  var s = 0.0;
  if (inside) {
    for (var r = r0 + lid.y; r < r1; r += ROWS) { s += x[r * d + col]; }
  }
  let m = rowSum(s, lid) / count;
  var q = 0.0;
  if (inside) {
    for (var r = r0 + lid.y; r < r1; r += ROWS) {
      let e = x[r * d + col] - m;
      q += e * e;
    }
  }
  let m2 = rowSum(q, lid);
  if (lid.y == 0u && inside) {
    partMean[wid.y * d + col] = m;
    partM2[wid.y * d + col] = m2;
  }
}

// One invocation per column: merge the chunks' (count, mean, M2) in order (Chan et al.), write the statistics.
@compute @workgroup_size(64)
fn merge(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let d = params.d;
  for (var col = gid.x; col < d; col += nwg.x * 64u) {
    var count = 0.0;
    var m = 0.0;
    var m2 = 0.0;
    for (var c = 0u; c < params.chunks; c++) {
      let r0 = c * params.chunkRows;
      let nb = f32(min(r0 + params.chunkRows, params.n) - r0);
      let delta = partMean[c * d + col] - m;
      let total = count + nb;
      m += delta * (nb / total);
      m2 += partM2[c * d + col] + delta * delta * (count * nb / total);
      count = total;
    }
    writeStats(col, m, m2 / count);
  }
}

// Elementwise over n*d: xhat = (x - mean) * invStd (stored when SAVE), out = gamma * xhat + beta.
@compute @workgroup_size(WG)
fn normalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    let j = i % params.d;
    let h = (x[i] - mean[j]) * invStd[j];
    if (SAVE) { xhat[i] = h; }
    out[i] = act(gamma[j] * h + beta[j]);
  }
}

// Test mode: out = gamma * (x - runningMean) / sqrt(runningVar + eps) + beta. Grid (ceil(d / (4 WG)), ceil(n /
// chunkRows)): each invocation owns 4 adjacent columns of chunkRows rows and reads their statistics once (an
// elementwise launch reads 4 per element, and on SwiftShader every load is a per-lane gather).
@compute @workgroup_size(WG)
fn normalizeTest(@builtin(global_invocation_id) gid: vec3u) {
  let n = params.n;
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let is = 1.0 / sqrt(load4rw(&runningVar, c) + params.eps);
  let m = load4rw(&runningMean, c);
  let g = load4(&gamma, c);
  let b = load4(&beta, c);
  let r0 = gid.y * params.chunkRows;
  let r1 = min(n, r0 + params.chunkRows);
  for (var r = r0; r < r1; r++) {
    let i = r * d + c;
    store4(&out, i, act4(g * ((load4(&x, i) - m) * is) + b));
  }
}

// The output activation: identity, or ReLU when fused (RELU).
fn act(v: f32) -> f32 {
  if (RELU) { return max(v, 0.0); }
  return v;
}

fn act4(v: vec4f) -> vec4f {
  if (RELU) { return max(v, vec4f(0.0)); }
  return v;
}

// quadColumns, load4, load4rw and store4 come from shaders/lib/columns.wgsl, prepended at load time.

// Grid ceil(d / (4 WG)), one chunk: mean, biased variance (two passes), statistics, then out (and xhat when SAVE).
@compute @workgroup_size(WG)
fn trainColumns(@builtin(global_invocation_id) gid: vec3u) {
  let n = params.n;
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let count = f32(n);
  var s = vec4f(0.0);
  for (var r = 0u; r < n; r++) { s += load4(&x, r * d + c); }
  let m = s / count;
  var q = vec4f(0.0);
  for (var r = 0u; r < n; r++) {
    let e = load4(&x, r * d + c) - m;
    q += e * e;
  }
  let v = q / count;
  let is = 1.0 / sqrt(v + params.eps);
  // Every running value is read before any is written (surplus lanes share column d - 1).
  let rm = params.momentum * load4rw(&runningMean, c) + (1.0 - params.momentum) * m;
  let rv = params.momentum * load4rw(&runningVar, c) + (1.0 - params.momentum) * v;
  store4(&mean, c, m);
  store4(&invStd, c, is);
  store4(&runningMean, c, rm);
  store4(&runningVar, c, rv);
  let g = load4(&gamma, c);
  let b = load4(&beta, c);
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    let h = (load4(&x, i) - m) * is;
    if (SAVE) { store4(&xhat, i, h); }
    store4(&out, i, act4(g * h + b));
  }
}
