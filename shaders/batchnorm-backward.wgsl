// Batch normalization backward, x is [n, d] row-major: the staged computational graph of the seed (cs231n
// batchnorm_backward, after F. Kratzert's "Understanding the backward pass through Batch Normalization
// Layer", 2016) one pass per node group, and the closed form of the seed's batchnorm_backward_alt
// (dx = gamma / (N sigma) * (N dout - sum dout - xhat * sum(dout * xhat))), whose two sums are one fused pass.
//
// Column sums use the tiling of batchnorm-forward.wgsl: a workgroup owns COLS columns x one chunk of
// rows and tree-reduces over its ROWS row-lanes. With one chunk the sums are final; with several, each
// chunk writes a partial row [chunk, d] and `combine` adds them up in chunk order. With one chunk the
// alternative is a single dispatch (`alternativeFused`: its workgroup holds whole columns, so it sums,
// then writes dx for those columns); small batches are launch-bound, and this halves the launches.
// xmu = x - mean comes from x and the batch mean (USE_X), else from xhat / invStd (x bound to xhat).

struct Params {
  n: u32,
  d: u32,
  chunkRows: u32,
  chunks: u32,
}

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> xhat: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> invStd: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> sumA: array<f32>;
@group(0) @binding(7) var<storage, read> sumB: array<f32>;
@group(0) @binding(8) var<storage, read_write> partA: array<f32>;
@group(0) @binding(9) var<storage, read_write> partB: array<f32>;
@group(0) @binding(10) var<storage, read_write> dxhat: array<f32>;
@group(0) @binding(11) var<storage, read_write> dx1: array<f32>;
@group(0) @binding(12) var<storage, read_write> dx: array<f32>;
@group(0) @binding(13) var<uniform> params: Params;

override COLS: u32 = 32;
override ROWS: u32 = 8;
override WG: u32 = 256;
// xmu from x - mean (the seed's cache) rather than xhat / invStd.
override USE_X: bool = true;
// `combine` adds two partial rows (sumA and sumB's sources) rather than one.
override PAIR: bool = true;

var<workgroup> red: array<vec2f, 256>;

// Sums of `v` over the ROWS row-lanes of each column, returned to every lane (tree reduction).
fn rowSum(v: vec2f, lid: vec3u) -> vec2f {
  let i = lid.y * COLS + lid.x;
  red[i] = v;
  workgroupBarrier();
  for (var s = ROWS / 2u; s > 0u; s >>= 1u) {
    if (lid.y < s) { red[i] += red[i + s * COLS]; }
    workgroupBarrier();
  }
  let total = red[lid.x];
  workgroupBarrier();
  return total;
}

// x - mean at element i of column j.
fn xmu(i: u32, j: u32) -> f32 {
  if (USE_X) { return x[i] - mean[j]; }
  return x[i] / invStd[j];
}

// Rows [r0, r1) of the workgroup's chunk.
fn chunkRange(wid: vec3u) -> vec2u {
  let r0 = wid.y * params.chunkRows;
  return vec2u(r0, min(r0 + params.chunkRows, params.n));
}

// Graph node dbeta/dgamma, and the alternative's single reduction: partA = sum dout, partB = sum dout * xhat.
@compute @workgroup_size(COLS, ROWS)
fn sumDoutXhat(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let rr = chunkRange(wid);
  var acc = vec2f(0.0);
  if (col < d) {
    for (var r = rr.x + lid.y; r < rr.y; r += ROWS) {
      let g = dout[r * d + col];
      acc += vec2f(g, g * xhat[r * d + col]);
    }
  }
  let s = rowSum(acc, lid);
  if (lid.y == 0u && col < d) {
    partA[wid.y * d + col] = s.x;
    partB[wid.y * d + col] = s.y;
  }
}

// Graph node dxhat, elementwise: dxhat = dout * gamma.
@compute @workgroup_size(WG)
fn dxhatNode(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    dxhat[i] = dout[i] * gamma[i % params.d];
  }
}

// Graph node dvar (its reduction): partA = divar = sum dxhat * xmu; dvar = -0.5 divar invStd^3 is taken by dmuNode.
@compute @workgroup_size(COLS, ROWS)
fn dvarNode(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let rr = chunkRange(wid);
  var acc = 0.0;
  if (col < d) {
    for (var r = rr.x + lid.y; r < rr.y; r += ROWS) {
      let i = r * d + col;
      acc += dxhat[i] * xmu(i, col);
    }
  }
  let s = rowSum(vec2f(acc, 0.0), lid);
  if (lid.y == 0u && col < d) { partA[wid.y * d + col] = s.x; }
}

// Graph node dmu: dx1 = dxhat * invStd + 2 xmu dvar / N (the two paths into xmu), stored; partA = sum dx1.
// sumA holds divar; dvar = 0.5 invStd * (-divar invStd^2), the chain through sqrtvar and ivar.
@compute @workgroup_size(COLS, ROWS)
fn dmuNode(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let rr = chunkRange(wid);
  var acc = 0.0;
  if (col < d) {
    let is = invStd[col];
    let dsqrtvar = -sumA[col] * is * is;
    let dvar = 0.5 * is * dsqrtvar;
    let dsq = dvar / f32(params.n);
    for (var r = rr.x + lid.y; r < rr.y; r += ROWS) {
      let i = r * d + col;
      let g = dxhat[i] * is + 2.0 * xmu(i, col) * dsq;
      dx1[i] = g;
      acc += g;
    }
  }
  let s = rowSum(vec2f(acc, 0.0), lid);
  if (lid.y == 0u && col < d) { partA[wid.y * d + col] = s.x; }
}

// Graph node dx, elementwise: dx = dx1 + dmu / N with dmu = -sum dx1 (sumA).
@compute @workgroup_size(WG)
fn dxNode(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  let invN = 1.0 / f32(params.n);
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    dx[i] = dx1[i] - sumA[i % params.d] * invN;
  }
}

// Alternative, elementwise: dx = gamma invStd / N * (N dout - dbeta - xhat dgamma); sumA = dbeta, sumB = dgamma.
@compute @workgroup_size(WG)
fn dxAlternative(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  let nf = f32(params.n);
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    let j = i % params.d;
    dx[i] = gamma[j] * invStd[j] / nf * (nf * dout[i] - sumA[j] - xhat[i] * sumB[j]);
  }
}

// Alternative in one pass when one chunk holds every row: partA = dbeta, partB = dgamma, then dx in place.
@compute @workgroup_size(COLS, ROWS)
fn alternativeFused(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let n = params.n;
  let col = wid.x * COLS + lid.x;
  var acc = vec2f(0.0);
  if (col < d) {
    for (var r = lid.y; r < n; r += ROWS) {
      let g = dout[r * d + col];
      acc += vec2f(g, g * xhat[r * d + col]);
    }
  }
  let s = rowSum(acc, lid);
  if (col < d) {
    if (lid.y == 0u) {
      partA[col] = s.x;
      partB[col] = s.y;
    }
    let nf = f32(n);
    let k = gamma[col] * invStd[col] / nf;
    for (var r = lid.y; r < n; r += ROWS) {
      let i = r * d + col;
      dx[i] = k * (nf * dout[i] - s.x - xhat[i] * s.y);
    }
  }
}

// With several chunks: add up the partial rows, partA[j] = sum_c sumA[c, j] (and partB from sumB when PAIR).
@compute @workgroup_size(64)
fn combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let d = params.d;
  for (var col = gid.x; col < d; col += nwg.x * 64u) {
    var a = 0.0;
    var b = 0.0;
    for (var c = 0u; c < params.chunks; c++) {
      a += sumA[c * d + col];
      if (PAIR) { b += sumB[c * d + col]; }
    }
    partA[col] = a;
    if (PAIR) { partB[col] = b; }
  }
}
