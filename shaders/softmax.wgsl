// Softmax cross-entropy loss and its gradient (cs231n softmax_loss): loss = mean_i -log softmax(s_i)[y_i],
// dscores = (softmax(s) - onehot(y)) / n. Rows are shifted by their max (no overflow); the label's
// gradient is -(sum of the other exponentials) / sum, which keeps p - 1 exact when p is near 1.
// One workgroup per model: each invocation takes rows i = lid, lid + WG, ..., the row losses are summed in order.
// A population of `models` (src/nn/population.ts) has scores [n, models·c]: model k's class scores are the
// columns k·c .. k·c+c-1, its mean loss goes to loss[lossIndex + k·lossStride]; one model is models = 1.
//
// `affine` is the classifier's head fused in front (src/ops/softmax-affine.ts): the same workgroup first computes
// its model's scores = h·W + b (cs231n affine_forward; each invocation a few of the n·c dot products of length d,
// summed in order over d, then + b), writes them, and after a storage barrier (the scores it reads next were
// written by other invocations of the workgroup) goes on as `main`. One launch instead of a matmul and this one;
// the plan takes it where a model's n·c·d products are few enough for one workgroup.
//
// `*_freeze` (a population's training step) also does what the freeze op did: once its model's loss is written,
// invocation 0 checks the model's lossStride slots (the cross-entropy and the L2 terms written by an earlier
// launch); a NaN or infinite slot, or sum, sets alive[k] = 0, and the update skips the model from this step on.

struct Params {
  n: u32,
  c: u32,
  lossIndex: u32,
  models: u32,
  lossStride: u32,
  // affine only: the inner size, h's row length (models·d, or d when every model reads the same rows), and
  // where model k's block of an h row starts (k·hModelStride: d, or 0 for shared rows)
  d: u32,
  ldh: u32,
  hModelStride: u32,
}

@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<u32>;
@group(0) @binding(2) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> h: array<f32>;
@group(0) @binding(6) var<storage, read> w: array<f32>;
@group(0) @binding(7) var<storage, read> b: array<f32>;
@group(0) @binding(8) var<storage, read_write> alive: array<u32>;

override WG: u32 = 32;

var<workgroup> part: array<f32, WG>;

// A quiet NaN made at run time (a NaN constant would be a shader-creation error).
fn quietNan(payload: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (payload & 0xffu));
}

fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// This invocation's rows: writes their dscores, returns the sum of their losses.
fn rowLosses(model: u32, lid: u32) -> f32 {
  let c = params.c;
  let invN = 1.0 / f32(params.n);
  var acc = 0.0;
  for (var i = lid; i < params.n; i += WG) {
    let row = (i * params.models + model) * c;
    let label = y[i];
    var m = scores[row];
    for (var j = 1u; j < c; j++) { m = max(m, scores[row + j]); }
    var sum = 0.0;
    var others = 0.0;
    for (var j = 0u; j < c; j++) {
      let e = exp(scores[row + j] - m);
      sum += e;
      if (j != label) { others += e; }
    }
    let inv = 1.0 / sum;
    for (var j = 0u; j < c; j++) {
      var g = exp(scores[row + j] - m) * inv;
      if (j == label) { g = -others * inv; }
      dscores[row + j] = g * invN;
    }
    // An out-of-range label has no score: the loss becomes NaN rather than silently wrong.
    var picked = quietNan(label);
    if (label < c) { picked = scores[row + label] - m; }
    acc += log(sum) - picked;
  }
  return acc;
}

// One barrier, then the first invocation adds the WG row-loss partials in order: on SwiftShader a
// barrier is a coroutine switch of every SIMD group, so a tree of log2(WG) barriers costs far more.
fn writeLoss(model: u32, lid: u32, acc: f32) {
  part[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var k = 0u; k < WG; k++) { total += part[k]; }
    loss[params.lossIndex + model * params.lossStride] = total * (1.0 / f32(params.n));
  }
}

// Invocation 0, after writeLoss: freeze the model if any of its slots k·lossStride .. (k+1)·lossStride - 1, or their sum, is not finite.
fn freeze(model: u32, lid: u32) {
  if (lid != 0u) { return; }
  var total = 0.0;
  var ok = true;
  for (var s = 0u; s < params.lossStride; s++) {
    let v = loss[model * params.lossStride + s];
    ok = ok && isFinite(v);
    total += v;
  }
  if (!(ok && isFinite(total))) { alive[model] = 0u; }
}

// This model's scores = h·W + b, every one of its n·c entries written by one invocation.
fn affineScores(model: u32, lid: u32) {
  let c = params.c;
  let d = params.d;
  let hBase = model * params.hModelStride;
  let wBase = model * d * c;
  for (var e = lid; e < params.n * c; e += WG) {
    let i = e / c;
    let j = e - i * c;
    let hRow = i * params.ldh + hBase;
    var acc = 0.0;
    for (var k = 0u; k < d; k++) { acc += h[hRow + k] * w[wBase + k * c + j]; }
    scores[(i * params.models + model) * c + j] = acc + b[model * c + j];
  }
  storageBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  writeLoss(wid.x, lid.x, rowLosses(wid.x, lid.x));
}

@compute @workgroup_size(WG)
fn main_freeze(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  writeLoss(wid.x, lid.x, rowLosses(wid.x, lid.x));
  freeze(wid.x, lid.x);
}

@compute @workgroup_size(WG)
fn affine(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  affineScores(wid.x, lid.x);
  writeLoss(wid.x, lid.x, rowLosses(wid.x, lid.x));
}

@compute @workgroup_size(WG)
fn affine_freeze(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  affineScores(wid.x, lid.x);
  writeLoss(wid.x, lid.x, rowLosses(wid.x, lid.x));
  freeze(wid.x, lid.x);
}
