// L2 regularization (cs231n fc_net: loss += 0.5 * reg * sum W^2, dW += reg * W), in two passes:
// `apply` updates dw elementwise and writes one partial sum of w^2 per invocation, `finish` adds the
// partials in order in one workgroup and writes loss[lossIndex] = 0.5 * reg * sum.
//
// Shaped for SwiftShader (Chromium's CPU adapter: an invocation is a SIMD lane, a load a per-lane gather,
// a barrier a coroutine switch of every SIMD group): `apply` has no barrier at all, each invocation takes
// 4 elements per step (grid-stride); `finish` has one barrier. A tree reduction per workgroup of `apply`
// (9 barriers in each of 256 workgroups) took about 100x longer there.
//
// A population (src/nn/population.ts) stacks its models' weights: model k owns elements k·count ..
// k·count+count-1, has strength regs[k], partial sums k·partials.., and its loss term goes to
// loss[lossIndex + k·lossStride]; the y grid dimension of `apply` and the x of `finish` are the model.

struct Params {
  // Elements per model.
  count: u32,
  lossIndex: u32,
  lossStride: u32,
  // Partial sums per model (invocations of `apply` along x).
  partials: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> regs: array<f32>;

override WG: u32 = 64;

var<workgroup> red: array<f32, WG>;

// Grid-stride over quads of elements 4q .. 4q+3: dw += reg * w; partial[invocation] = sum of its w^2.
// Indices past count - 1 are clamped to it: those lanes redo the last element bit for bit (their
// duplicate stores write the same value) and are left out of the sum.
@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let model = gid.y;
  let last = params.count - 1u;
  let quads = (params.count + 3u) / 4u;
  let reg = regs[model];
  let base = vec4u(model * params.count);
  var acc = vec4f(0.0);
  for (var q = gid.x; q < quads; q += nwg.x * WG) {
    let e = vec4u(4u * q) + vec4u(0u, 1u, 2u, 3u);
    let i = min(e, vec4u(last)) + base;
    let v = vec4f(w[i.x], w[i.y], w[i.z], w[i.w]);
    let g = vec4f(dw[i.x], dw[i.y], dw[i.z], dw[i.w]) + reg * v;
    dw[i.x] = g.x;
    dw[i.y] = g.y;
    dw[i.z] = g.z;
    dw[i.w] = g.w;
    acc += select(vec4f(0.0), v * v, e <= vec4u(last));
  }
  partial[model * params.partials + gid.x] = (acc.x + acc.y) + (acc.z + acc.w);
}

// One workgroup per model: loss[lossIndex] = 0.5 * reg * sum of the partials (strided per invocation, then in order).
@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let model = wid.x;
  var acc = 0.0;
  for (var i = lid.x; i < params.partials; i += WG) { acc += partial[model * params.partials + i]; }
  red[lid.x] = acc;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = 0.0;
    for (var k = 0u; k < WG; k++) { total += red[k]; }
    loss[params.lossIndex + model * params.lossStride] = 0.5 * regs[model] * total;
  }
}

// `losses`: every L2 loss term of a training step in one launch, the gradient term being the optimizer's
// (shaders/optim.wgsl adds reg·w to dw as it updates). The weights sit in one store (`w` binds the span of all);
// a table of tensors gives each its start, its elements per model, its chunks per model (ceil(perModel /
// CHUNK)), its first workgroup, its first loss slot and where its strengths start (regs[regBase + k] for model
// k). Each workgroup sums w^2 over one chunk of one model's block (one barrier, then invocation 0 adds the
// partials in order) and writes 0.5·reg·sum to its own slot, loss[lossIndex + k·lossStride + slot + chunk]:
// no second pass, the host (and the freeze) add a model's slots up. Separate from `apply` and `finish`, which
// the `grads` program keeps (its dW must hold reg·W).
struct Tensor {
  start: u32,
  perModel: u32,
  chunks: u32,
  firstGroup: u32,
  slot: u32,
  regBase: u32,
}

struct Terms {
  tensors: u32,
  models: u32,
  lossIndex: u32,
  lossStride: u32,
}

@group(0) @binding(6) var<storage, read> table: array<Tensor>;
@group(0) @binding(7) var<uniform> terms: Terms;

override CHUNK: u32 = 16384;

@compute @workgroup_size(WG)
fn losses(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  // the last tensor whose firstGroup <= g: a binary search (as in optim.wgsl)
  var lo = 0u;
  var hi = terms.tensors;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (table[mid].firstGroup <= g) { lo = mid; } else { hi = mid; }
  }
  let t = table[lo];
  let local = g - t.firstGroup;
  let live = local < t.chunks * terms.models;
  let k = min(local / t.chunks, terms.models - 1u);
  let chunk = local % t.chunks;
  let base = t.start + k * t.perModel;
  let first = base + chunk * CHUNK;
  let end = select(first, base + min(t.perModel, (chunk + 1u) * CHUNK), live);
  var acc = 0.0;
  for (var i = first + lid; i < end; i += WG) {
    let v = w[i];
    acc += v * v;
  }
  red[lid] = acc;
  workgroupBarrier();
  if (lid == 0u && live) {
    var total = 0.0;
    for (var q = 0u; q < WG; q++) { total += red[q]; }
    loss[terms.lossIndex + k * terms.lossStride + t.slot + chunk] = 0.5 * regs[t.regBase + k] * total;
  }
}
