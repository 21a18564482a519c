// Elementwise sum out = a + b: the residual connection forward, and the gradient accumulation of autodiff
// where a value feeds several nodes (micrograd's `+=`). Grid-stride over the elements.
// Elements are `V`: vec4f when the length is a multiple of 4 (the host then gives `count` in vec4s), else
// f32 (src/ops/add.ts swaps the alias line below, as relu does: WGSL has no type overrides).

alias V = vec4f;

struct Params {
  // Elements of type V.
  count: u32,
}

@group(0) @binding(0) var<storage, read> a: array<V>;
@group(0) @binding(1) var<storage, read> b: array<V>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < params.count; i += nwg.x * WG) {
    out[i] = a[i] + b[i];
  }
}
