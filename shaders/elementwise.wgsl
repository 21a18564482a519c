// The elementwise family: out[i] = apply(i), grid-stride over the elements. `apply` is one row of the table in
// src/ops/elementwise.ts (ReLU, its derivative, the add, GELU, its derivative), linked after this file; it reads
// a[i] and, for a binary row, b[i] (a unary row leaves b out of its interface: no extra load). Elements are `V`: vec4f when n is a multiple of 4 (the host then
// gives `count` = n / 4), else f32 (the host swaps the alias line below: WGSL has no type overrides). vec4 loads
// pay on SwiftShader, where each invocation is a CPU SIMD lane and each load a per-lane gather; each invocation
// takes several elements (the host launches about one workgroup per 4·WG), as many tiny workgroups cost there too.

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
    out[i] = apply(i);
  }
}
