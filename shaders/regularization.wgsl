// L2 regularization (cs231n fc_net: loss += 0.5 * reg * sum W^2, dW += reg * W), in two passes:
// `apply` updates dw elementwise and writes one partial sum of w^2 per workgroup (tree-reduced),
// `finish` adds the partials in order in one workgroup and writes loss[lossIndex] = 0.5 * reg * sum.

struct Params {
  count: u32,
  reg: f32,
  lossIndex: u32,
  partials: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override WG: u32 = 256;

var<workgroup> red: array<f32, WG>;

fn workgroupSum(v: f32, l: u32) -> f32 {
  red[l] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (l < s) { red[l] += red[l + s]; }
    workgroupBarrier();
  }
  return red[0];
}

// Grid-stride over w: dw += reg * w; partial[workgroup] = sum of its w^2.
@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u,
         @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var acc = 0.0;
  for (var i = gid.x; i < params.count; i += nwg.x * WG) {
    let v = w[i];
    dw[i] += params.reg * v;
    acc += v * v;
  }
  let total = workgroupSum(acc, lid.x);
  if (lid.x == 0u) { partial[wid.x] = total; }
}

// One workgroup: loss[lossIndex] = 0.5 * reg * sum of the partials.
@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var i = lid.x; i < params.partials; i += WG) { acc += partial[i]; }
  let total = workgroupSum(acc, lid.x);
  if (lid.x == 0u) { loss[params.lossIndex] = 0.5 * params.reg * total; }
}
