// The four update rules of cs231n optim.py, elementwise, simplest first. Hyperparameters and Adam's
// per-step bias corrections are one uniform shared by every parameter, written once per step by the host;
// the learning rate is per model (`rates`, one for a single model).
//   sgd:          w -= lr * dw
//   sgd_momentum: v = momentum * v - lr * dw; w += v
//   rmsprop:      cache = decay * cache + (1 - decay) dw^2; w -= lr * dw / (sqrt(cache) + eps)   (Hinton, lecture 6e)
//   adam:         m = b1 m + (1 - b1) dw; v = b2 v + (1 - b2) dw^2;
//                 w -= lr * (m * mCorrection) / (sqrt(v * vCorrection) + eps)                (Kingma & Ba, arXiv 1412.6980)
//                 with mCorrection = 1 / (1 - b1^t), vCorrection = 1 / (1 - b2^t), t incremented before (host, f64).
//
// What is updated is a list of segments (src/ops/optim.ts builds it): one per tensor of a population's
// stacked tensors (`models` blocks of `perModel` elements, model k's from start + k·perModel), or one span
// covering every tensor of one model. Each (segment, model) gets `groups` workgroups, numbered from
// `firstGroup` on; a workgroup finds its segment (a binary search), skips a model that is frozen (alive[k] is
// 0: its loss turned NaN or infinite, see the softmax loss's freeze), and updates with the model's own rate, rates[k].
//
// L2 (cs231n fc_net's dW += reg·W) is folded in: every rule steps on g = dw + reg·w, with reg the segment's strength
// for the model (regs[regBase + k]; 0 for unpenalized tensors), so no separate launch adds it to dw first (the loss
// term 0.5·reg·ΣW² is regularization.wgsl's `losses`, before the update).
//
// Elements are `V`: vec4f when every start and length is a multiple of 4 (the host then gives them in vec4s), else
// f32 (src/ops/optim.ts swaps the alias line below: WGSL has no type overrides). Every rule is written
// once for both. vec4 loads pay on SwiftShader, where each invocation is a CPU SIMD lane and each load a
// per-lane gather, and are free on GPUs. Each invocation takes several elements (grid-stride; the host
// launches about one workgroup per 128·WG elements on CPU adapters, 8·WG on GPUs): many tiny workgroups cost there too.

alias V = vec4f;

struct Hyper {
  momentum: f32,
  decayRate: f32,
  beta1: f32,
  beta2: f32,
  // 1 - decayRate, 1 - beta1, 1 - beta2 computed in f64 (1 - f32(0.999) is off by 1e-5 relative).
  oneMinusDecayRate: f32,
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  epsilon: f32,
  mCorrection: f32,
  vCorrection: f32,
}

// Lengths in elements of type V (vec4s when V is vec4f).
struct Segment {
  start: u32,
  perModel: u32,
  groups: u32,
  firstGroup: u32,
  // model k's L2 strength is regs[regBase + k]
  regBase: u32,
}

struct Shape {
  segments: u32,
  models: u32,
}

@group(0) @binding(0) var<storage, read_write> w: array<V>;
@group(0) @binding(1) var<storage, read> dw: array<V>;
@group(0) @binding(2) var<storage, read_write> s1: array<V>;
@group(0) @binding(3) var<storage, read_write> s2: array<V>;
@group(0) @binding(4) var<uniform> hyper: Hyper;
@group(0) @binding(5) var<uniform> shape: Shape;
@group(0) @binding(6) var<storage, read> segments: array<Segment>;
@group(0) @binding(7) var<storage, read> rates: array<f32>;
@group(0) @binding(8) var<storage, read> alive: array<u32>;
@group(0) @binding(9) var<storage, read> regs: array<f32>;

override WG: u32 = 64;

// This workgroup's work: the first element (of the model's block), the last + 1, the stride, the model and its
// L2 strength; an empty range when the model is frozen.
struct Span {
  first: u32,
  end: u32,
  stride: u32,
  model: u32,
  reg: f32,
}

fn span(wid: vec3u, nwg: vec3u, lid: u32) -> Span {
  let g = wid.y * nwg.x + wid.x;
  // the last segment whose firstGroup <= g (firstGroup grows with the segment): a binary search, ~log2(segments)
  // loads, not one per segment (each load is a gather on SwiftShader, in every invocation)
  var lo = 0u;
  var hi = shape.segments;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (segments[mid].firstGroup <= g) { lo = mid; } else { hi = mid; }
  }
  let t = lo;
  let seg = segments[t];
  let local = g - seg.firstGroup;
  let k = local / seg.groups;
  let base = seg.start + k * seg.perModel;
  let live = g < seg.firstGroup + seg.groups * shape.models && alive[k] != 0u;
  let end = select(base, base + seg.perModel, live);
  let model = min(k, shape.models - 1u);
  return Span(base + (local % seg.groups) * WG + lid, end, seg.groups * WG, model, regs[seg.regBase + model]);
}

@compute @workgroup_size(WG)
fn sgd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = span(wid, nwg, lid);
  let lr = rates[r.model];
  for (var i = r.first; i < r.end; i += r.stride) {
    let g = dw[i] + r.reg * w[i];
    w[i] -= lr * g;
  }
}

// s1 = velocity.
@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = span(wid, nwg, lid);
  let lr = rates[r.model];
  let momentum = hyper.momentum;
  for (var i = r.first; i < r.end; i += r.stride) {
    let g = dw[i] + r.reg * w[i];
    let v = momentum * s1[i] - lr * g;
    s1[i] = v;
    w[i] += v;
  }
}

// s1 = cache (moving average of dw^2).
@compute @workgroup_size(WG)
fn rmsprop(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = span(wid, nwg, lid);
  let lr = rates[r.model];
  let decay = hyper.decayRate;
  let oneMinusDecay = hyper.oneMinusDecayRate;
  let eps = hyper.epsilon;
  for (var i = r.first; i < r.end; i += r.stride) {
    let g = dw[i] + r.reg * w[i];
    let cache = decay * s1[i] + oneMinusDecay * g * g;
    s1[i] = cache;
    w[i] -= lr * g / (sqrt(cache) + eps);
  }
}

// s1 = m, s2 = v.
@compute @workgroup_size(WG)
fn adam(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = span(wid, nwg, lid);
  let lr = rates[r.model];
  let b1 = hyper.beta1;
  let b2 = hyper.beta2;
  let oneMinusB1 = hyper.oneMinusBeta1;
  let oneMinusB2 = hyper.oneMinusBeta2;
  let mCorrection = hyper.mCorrection;
  let vCorrection = hyper.vCorrection;
  let eps = hyper.epsilon;
  for (var i = r.first; i < r.end; i += r.stride) {
    let g = dw[i] + r.reg * w[i];
    let m = b1 * s1[i] + oneMinusB1 * g;
    let v = b2 * s2[i] + oneMinusB2 * g * g;
    s1[i] = m;
    s2[i] = v;
    w[i] -= lr * (m * mCorrection) / (sqrt(v * vCorrection) + eps);
  }
}
