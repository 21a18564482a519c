// Layer normalization (Ba, Kiros & Hinton 2016, arXiv 1607.06450; cs231n layernorm_forward/backward), x is
// [n, d] row-major and every ROW is normalized over its d features: batchnorm's formulas on the other axis.
//
// One workgroup per row (grid-stride over rows); its WG invocations stride over the row's columns and
// `rowSum` adds their partial sums. `rowSum` is not defined here: the host prepends one of two preludes,
// shaders/row-sum.wgsl (a tree reduction in workgroup memory, any adapter) or shaders/row-sum-subgroups.wgsl
// (`subgroupAdd`, where the adapter has the `subgroups` feature; there WG is the adapter's smallest subgroup
// size, so a workgroup is one subgroup and the reduction needs no workgroup memory and no barrier).
//
// forward: mean and biased variance per row in two passes (never E[x^2] - E[x]^2), then
//   xhat = (x - mean) * invStd, out = gamma * xhat + beta; mean and invStd [n] (and xhat when SAVE) are kept.
// backward (closed form, per row, with dxhat = dout * gamma):
//   dx = invStd / d * (d * dxhat - sum_j dxhat - xhat * sum_j dxhat * xhat).
// dgamma = sum_i dout * xhat and dbeta = sum_i dout are column sums, as batchnorm's (batchnorm-backward.wgsl).
// The sums and d in these formulas run over a row's `features` real columns (see Params).

struct Params {
  n: u32,
  d: u32,
  eps: f32,
  // A population (src/nn/population.ts): x [N, M·d] seen as n = N·M rows of d, row r of model r % models
  // (gamma and beta at (r % models)·d); only the first `features` of each row are real (the rest, a stored
  // width rounded up, are written 0 and left out of the statistics). One model: models 1, features d.
  models: u32,
  features: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> invStd: array<f32>;
@group(0) @binding(6) var<storage, read_write> xhat: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read> savedXhat: array<f32>;
@group(0) @binding(9) var<storage, read> savedInvStd: array<f32>;
@group(0) @binding(10) var<storage, read_write> dx: array<f32>;
@group(0) @binding(11) var<uniform> params: Params;

// Invocations per row (a power of two for the tree prelude; the subgroup size for the subgroup prelude).
override WG: u32 = 64;
// Whether forward stores xhat for the backward pass.
override SAVE: bool = false;

// Grid-stride over rows: mean, variance, invStd of the row, then xhat and out.
@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = params.n;
  let d = params.d;
  let f = params.features;
  let df = f32(f);
  for (var row = wid.x; row < n; row += nwg.x) {
    let base = row * d;
    let gb = (row % params.models) * d;
    var s = 0.0;
    for (var j = lid; j < f; j += WG) { s += x[base + j]; }
    let m = rowSum(vec2f(s, 0.0), lid).x / df;
    var q = 0.0;
    for (var j = lid; j < f; j += WG) {
      let e = x[base + j] - m;
      q += e * e;
    }
    let is = 1.0 / sqrt(rowSum(vec2f(q, 0.0), lid).x / df + params.eps);
    if (lid == 0u) {
      mean[row] = m;
      invStd[row] = is;
    }
    for (var j = lid; j < d; j += WG) {
      let h = select(0.0, (x[base + j] - m) * is, j < f);
      if (SAVE) { xhat[base + j] = h; }
      out[base + j] = select(0.0, gamma[gb + j] * h + beta[gb + j], j < f);
    }
  }
}

// Grid-stride over rows: the two row sums of the closed form in one reduction, then dx.
@compute @workgroup_size(WG)
fn backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = params.n;
  let d = params.d;
  let f = params.features;
  let df = f32(f);
  for (var row = wid.x; row < n; row += nwg.x) {
    let base = row * d;
    let gb = (row % params.models) * d;
    var acc = vec2f(0.0);
    for (var j = lid; j < f; j += WG) {
      let g = dout[base + j] * gamma[gb + j];
      acc += vec2f(g, g * savedXhat[base + j]);
    }
    let sums = rowSum(acc, lid);
    let k = savedInvStd[row] / df;
    for (var j = lid; j < d; j += WG) {
      let g = dout[base + j] * gamma[gb + j];
      dx[base + j] = select(0.0, k * (df * g - sums.x - savedXhat[base + j] * sums.y), j < f);
    }
  }
}
