// Softmax cross-entropy loss and its gradient (cs231n softmax_loss): loss = mean_i -log softmax(s_i)[y_i],
// dscores = (softmax(s) - onehot(y)) / n. Rows are shifted by their max (no overflow); the label's
// gradient is -(sum of the other exponentials) / sum, which keeps p - 1 exact when p is near 1.
// One workgroup per model: each invocation takes rows i = lid, lid + WG, ..., the row losses are summed in order.
// A population of `models` (src/nn/population.ts) has scores [n, models·c]: model k's class scores are the
// columns k·c .. k·c+c-1, its mean loss goes to loss[lossIndex + k·lossStride]; one model is models = 1.

struct Params {
  n: u32,
  c: u32,
  lossIndex: u32,
  models: u32,
  lossStride: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<u32>;
@group(0) @binding(2) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override WG: u32 = 32;

var<workgroup> part: array<f32, WG>;

// A quiet NaN made at run time (a NaN constant would be a shader-creation error).
fn quietNan(payload: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (payload & 0xffu));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = params.c;
  let model = wid.x;
  let invN = 1.0 / f32(params.n);
  var acc = 0.0;
  for (var i = lid.x; i < params.n; i += WG) {
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
  // One barrier, then the first invocation adds the WG row-loss partials in order: on SwiftShader a
  // barrier is a coroutine switch of every SIMD group, so a tree of log2(WG) barriers costs far more.
  part[lid.x] = acc;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = 0.0;
    for (var k = 0u; k < WG; k++) { total += part[k]; }
    loss[params.lossIndex + model * params.lossStride] = total * invN;
  }
}
