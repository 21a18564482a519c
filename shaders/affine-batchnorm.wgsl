// Affine + batchnorm (+ ReLU) forward in one kernel, for batches whose every row fits one workgroup's lanes:
// pre = x·W + b (cs231n affine_forward), then batchnorm over the n rows of each column (Ioffe & Szegedy, ICML 2015;
// the two-pass mean and biased variance of batchnorm-forward.wgsl `trainColumns`, never E[x^2] - E[x]^2), and
// out = act(gamma * xhat + beta). Linked behind shaders/lib/columns.wgsl (quadColumns, load4, load4rw, store4) and
// shaders/lib/tree-sum.wgsl (treeSum).
//
// Grid ceil(d / 4): a workgroup owns 4 adjacent columns (the last one's surplus lanes redo column d - 1 bit for bit)
// and its WG lanes own blocks of 4 rows (rows 4·lane.., then 4·(lane + WG)..). A lane computes its rows' pre-activation
// (a 4x4 register block: an outer product per k, as shaders/matmul.wgsl), stores it to `out` (its own elements, read
// back only by itself, so no barrier) and sums it; the column sums meet in a workgroup tree sum; the lanes then read
// their own rows back for the centred second moment, another tree sum, and finally overwrite them normalized. At most
// 10 storage bindings (what browsers commonly allow): no pre-activation or mean is kept, since the backward reads
// only xhat and invStd (the graph variant takes xmu = xhat / invStd). Where pre comes from:
//   fromProduct   x [n, k] · W [k, d] + b, computed here (small k);
//   fromPartials  the sum of a split-K matmul's partials [splits, n, d] + b (big k: shaders/matmul*.wgsl wrote them),
//                 which folds the matmul's `reduce` pass and its bias into this one.
// TRAIN: batch statistics (saved invStd and xhat, running averages moved by momentum); else the running ones.

struct Params {
  n: u32,
  d: u32,
  k: u32,
  splits: u32,
  eps: f32,
  momentum: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> part: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(8) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(9) var<storage, read_write> invStd: array<f32>;
@group(0) @binding(10) var<storage, read_write> xhat: array<f32>;
@group(0) @binding(11) var<uniform> params: Params;

// Lanes per workgroup, a power of two <= 256.
override WG: u32 = 64;
override TRAIN: bool = true;
override RELU: bool = false;

// Sum of v over the workgroup's lanes, returned to every lane: two tree sums of shaders/lib/tree-sum.wgsl (linked in
// front; it has barriers, so every lane must call this).
fn laneSum(v: vec4f, lane: u32) -> vec4f {
  return vec4f(treeSum(v.xy, 0u, lane, WG, 1u), treeSum(v.zw, 0u, lane, WG, 1u));
}

// The 4 rows of a block from r0, clamped to n - 1 (a copy of the last row is computed, not stored).
fn rowsOf(r0: u32) -> vec4u {
  return min(vec4u(r0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.n - 1u));
}

// Store the block's rows that exist (to `out`, until they are normalized) and return their sum.
fn keep(r0: u32, c: vec4u, t: array<vec4f, 4>) -> vec4f {
  var s = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < params.n) {
      store4(&out, (r0 + i) * params.d + c, t[i]);
      s += t[i];
    }
  }
  return s;
}

@compute @workgroup_size(WG)
fn fromProduct(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let d = params.d;
  let k = params.k;
  let c = quadColumns(wid.x, d);
  let bias = load4(&b, c);
  var s = vec4f(0.0);
  for (var r0 = 4u * lane; r0 < params.n; r0 += 4u * WG) {
    let rows = rowsOf(r0) * k;
    var t = array<vec4f, 4>(bias, bias, bias, bias);
    for (var kk = 0u; kk < k; kk++) {
      let wk = load4(&w, kk * d + c);
      t[0] += x[rows.x + kk] * wk;
      t[1] += x[rows.y + kk] * wk;
      t[2] += x[rows.z + kk] * wk;
      t[3] += x[rows.w + kk] * wk;
    }
    s += keep(r0, c, t);
  }
  finish(c, lane, s);
}

@compute @workgroup_size(WG)
fn fromPartials(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let d = params.d;
  let nd = params.n * d;
  let c = quadColumns(wid.x, d);
  let bias = load4(&b, c);
  var s = vec4f(0.0);
  for (var r0 = 4u * lane; r0 < params.n; r0 += 4u * WG) {
    let rows = rowsOf(r0) * d;
    var t = array<vec4f, 4>(bias, bias, bias, bias);
    for (var z = 0u; z < params.splits; z++) {
      t[0] += load4(&part, z * nd + rows.x + c);
      t[1] += load4(&part, z * nd + rows.y + c);
      t[2] += load4(&part, z * nd + rows.z + c);
      t[3] += load4(&part, z * nd + rows.w + c);
    }
    s += keep(r0, c, t);
  }
  finish(c, lane, s);
}

// Statistics from the column sums `s` (TRAIN) or the running ones, then the lane's rows normalized.
fn finish(c: vec4u, lane: u32, s: vec4f) {
  let n = params.n;
  let d = params.d;
  let count = f32(n);
  var m: vec4f;
  var is: vec4f;
  if (TRAIN) {
    m = laneSum(s, lane) / count;
    var q = vec4f(0.0);
    for (var r0 = 4u * lane; r0 < n; r0 += 4u * WG) {
      for (var r = r0; r < min(r0 + 4u, n); r++) {
        let e = load4rw(&out, r * d + c) - m;
        q += e * e;
      }
    }
    let v = laneSum(q, lane) / count;
    is = 1.0 / sqrt(v + params.eps);
    if (lane == 0u) {
      // every running value is read before any is written (surplus lanes share column d - 1)
      let rm = params.momentum * load4rw(&runningMean, c) + (1.0 - params.momentum) * m;
      let rv = params.momentum * load4rw(&runningVar, c) + (1.0 - params.momentum) * v;
      store4(&invStd, c, is);
      store4(&runningMean, c, rm);
      store4(&runningVar, c, rv);
    }
  } else {
    m = load4rw(&runningMean, c);
    is = 1.0 / sqrt(load4rw(&runningVar, c) + params.eps);
  }
  let g = load4(&gamma, c);
  let bt = load4(&beta, c);
  for (var r0 = 4u * lane; r0 < n; r0 += 4u * WG) {
    for (var r = r0; r < min(r0 + 4u, n); r++) {
      let i = r * d + c;
      let h = (load4rw(&out, i) - m) * is;
      if (TRAIN) { store4(&xhat, i, h); }
      var o = g * h + bt;
      if (RELU) { o = max(o, vec4f(0.0)); }
      store4(&out, i, o);
    }
  }
}
