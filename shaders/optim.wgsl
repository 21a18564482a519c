// The four update rules of cs231n optim.py, elementwise over one parameter, simplest first. Hyperparameters
// and Adam's per-step bias corrections are one uniform shared by every parameter of a model, written
// once per step by the host; the parameter's length is its own uniform.
//   sgd:          w -= lr * dw
//   sgd_momentum: v = momentum * v - lr * dw; w += v
//   rmsprop:      cache = decay * cache + (1 - decay) dw^2; w -= lr * dw / (sqrt(cache) + eps)   (Hinton, lecture 6e)
//   adam:         m = b1 m + (1 - b1) dw; v = b2 v + (1 - b2) dw^2;
//                 w -= lr * (m * mCorrection) / (sqrt(v * vCorrection) + eps)                (Kingma & Ba, arXiv 1412.6980)
//                 with mCorrection = 1 / (1 - b1^t), vCorrection = 1 / (1 - b2^t), t incremented before (host, f64).
//
// Elements are `V`: vec4f when the length is a multiple of 4 (the host then gives `count` in vec4s), else
// f32 (src/ops/optim.ts swaps the alias line below: WGSL has no type overrides). Every rule is written
// once for both. vec4 loads pay on SwiftShader, where each invocation is a CPU SIMD lane and each load a
// per-lane gather, and are free on GPUs. Each invocation takes several elements (grid-stride; the host
// launches about one workgroup per 8·WG elements): many tiny workgroups cost there too.

alias V = vec4f;

struct Hyper {
  learningRate: f32,
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

struct Shape {
  // Elements of type V (vec4s when V is vec4f).
  count: u32,
}

@group(0) @binding(0) var<storage, read_write> w: array<V>;
@group(0) @binding(1) var<storage, read> dw: array<V>;
@group(0) @binding(2) var<storage, read_write> s1: array<V>;
@group(0) @binding(3) var<storage, read_write> s2: array<V>;
@group(0) @binding(4) var<uniform> hyper: Hyper;
@group(0) @binding(5) var<uniform> shape: Shape;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let lr = hyper.learningRate;
  for (var i = gid.x; i < shape.count; i += nwg.x * WG) {
    w[i] -= lr * dw[i];
  }
}

// s1 = velocity.
@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let lr = hyper.learningRate;
  let momentum = hyper.momentum;
  for (var i = gid.x; i < shape.count; i += nwg.x * WG) {
    let v = momentum * s1[i] - lr * dw[i];
    s1[i] = v;
    w[i] += v;
  }
}

// s1 = cache (moving average of dw^2).
@compute @workgroup_size(WG)
fn rmsprop(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let lr = hyper.learningRate;
  let decay = hyper.decayRate;
  let oneMinusDecay = hyper.oneMinusDecayRate;
  let eps = hyper.epsilon;
  for (var i = gid.x; i < shape.count; i += nwg.x * WG) {
    let g = dw[i];
    let cache = decay * s1[i] + oneMinusDecay * g * g;
    s1[i] = cache;
    w[i] -= lr * g / (sqrt(cache) + eps);
  }
}

// s1 = m, s2 = v.
@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let lr = hyper.learningRate;
  let b1 = hyper.beta1;
  let b2 = hyper.beta2;
  let oneMinusB1 = hyper.oneMinusBeta1;
  let oneMinusB2 = hyper.oneMinusBeta2;
  let mCorrection = hyper.mCorrection;
  let vCorrection = hyper.vCorrection;
  let eps = hyper.epsilon;
  for (var i = gid.x; i < shape.count; i += nwg.x * WG) {
    let g = dw[i];
    let m = b1 * s1[i] + oneMinusB1 * g;
    let v = b2 * s2[i] + oneMinusB2 * g * g;
    s1[i] = m;
    s2[i] = v;
    w[i] -= lr * (m * mCorrection) / (sqrt(v * vCorrection) + eps);
  }
}
