// Batch normalization backward, x is [n, d] row-major: the staged computational graph of the seed (cs231n
// batchnorm_backward, after F. Kratzert's "Understanding the backward pass through Batch Normalization
// Layer", 2016) one pass per node group, and the closed form of the seed's batchnorm_backward_alt
// (dx = gamma / (N sigma) * (N dout - sum dout - xhat * sum(dout * xhat))), whose two sums are one fused pass.
//
// Big batches (several row chunks): column sums use the tiling of batchnorm-forward.wgsl, a workgroup
// owns COLS columns x one chunk of rows and tree-reduces over its ROWS row-lanes; each chunk writes a
// partial row [chunk, d] and `combine` adds them up in chunk order.
// Small batches (one chunk) take the `*Columns` kernels, the same nodes without workgroup memory or
// barriers: each invocation owns 4 adjacent columns (the alternative: 8) and loops over every row (see
// batchnorm-forward.wgsl for why this pays on SwiftShader). The alternative is then one dispatch (sums,
// then dx for its columns); the graph keeps one dispatch per node.
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
// With RELU, the output of the fused batchnorm + ReLU forward: dout is then the gradient of the ReLU's output.
@group(0) @binding(14) var<storage, read> reluOut: array<f32>;

override COLS: u32 = 32;
override ROWS: u32 = 8;
// Elementwise workgroup size (the `*Columns` kernels: invocations of 4 columns each).
override WG: u32 = 256;
// xmu from x - mean (the seed's cache) rather than xhat / invStd.
override USE_X: bool = true;
// ReLU fused in front (batchnorm then ReLU in one forward op): the incoming gradient is masked by reluOut > 0,
// which is relu_backward done on the fly instead of as its own pass.
override RELU: bool = false;
// `combine` adds two partial rows (sumA and sumB's sources) rather than one.
override PAIR: bool = true;

// Sums of `v` over the ROWS row-lanes of each column, returned to every lane (shaders/lib/tree-sum.wgsl, linked in front).
fn rowSum(v: vec2f, lid: vec3u) -> vec2f {
  return treeSum(v, lid.x, lid.y, ROWS, COLS);
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

// The gradient reaching batchnorm's output at element i (4 elements): dout, masked by the fused ReLU when RELU.
fn dout1(i: u32) -> f32 {
  if (RELU) { return select(0.0, dout[i], reluOut[i] > 0.0); }
  return dout[i];
}

fn dout4(i: vec4u) -> vec4f {
  let g = load4(&dout, i);
  if (RELU) { return select(vec4f(0.0), g, load4(&reluOut, i) > vec4f(0.0)); }
  return g;
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
      let g = dout1(r * d + col);
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
    dxhat[i] = dout1(i) * gamma[i % params.d];
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
    dx[i] = gamma[j] * invStd[j] / nf * (nf * dout1(i) - sumA[j] - xhat[i] * sumB[j]);
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

// quadColumns, load4, load4rw and store4 come from shaders/lib/columns.wgsl, prepended at load time.

// xmu at elements i, from the columns' `centre` (xmuCentre): x - mean (USE_X), else xhat / invStd.
fn xmu4(i: vec4u, centre: vec4f) -> vec4f {
  if (USE_X) { return load4(&x, i) - centre; }
  return load4(&x, i) / centre;
}

// The per-column value xmu4 takes: the batch mean (USE_X) or invStd.
fn xmuCentre(c: vec4u) -> vec4f {
  if (USE_X) { return load4(&mean, c); }
  return load4(&invStd, c);
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

// Graph node dbeta/dgamma, one chunk: partA = sum dout, partB = sum dout * xhat.
@compute @workgroup_size(WG)
fn sumsColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  var sa = vec4f(0.0);
  var sb = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    let g = dout4(i);
    sa += g;
    sb += g * load4(&xhat, i);
  }
  store4(&partA, c, sa);
  store4(&partB, c, sb);
}

// Graph node dxhat, one chunk: dxhat = dout * gamma.
@compute @workgroup_size(WG)
fn dxhatColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let g = load4(&gamma, c);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    store4(&dxhat, i, dout4(i) * g);
  }
}

// Graph node dvar (its reduction), one chunk: partA = divar = sum dxhat * xmu (as dvarNode).
@compute @workgroup_size(WG)
fn dvarColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let centre = xmuCentre(c);
  var acc = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    acc += load4rw(&dxhat, i) * xmu4(i, centre);
  }
  store4(&partA, c, acc);
}

// Graph node dmu, one chunk: dx1 = dxhat * invStd + 2 xmu dvar / N, stored; partA = sum dx1 (as dmuNode).
@compute @workgroup_size(WG)
fn dmuColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let centre = xmuCentre(c);
  let is = load4(&invStd, c);
  let dsqrtvar = -load4(&sumA, c) * is * is;
  let dvar = 0.5 * is * dsqrtvar;
  let dsq = dvar / f32(params.n);
  var acc = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    let g = load4rw(&dxhat, i) * is + 2.0 * xmu4(i, centre) * dsq;
    store4(&dx1, i, g);
    acc += g;
  }
  store4(&partA, c, acc);
}

// Graph node dx, one chunk: dx = dx1 + dmu / N with dmu = -sum dx1 (sumA).
@compute @workgroup_size(WG)
fn dxColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let dmu = load4(&sumA, c) * (1.0 / f32(params.n));
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    store4(&dx, i, load4rw(&dx1, i) - dmu);
  }
}
