// ReLU forward and backward, elementwise (cs231n relu_forward / relu_backward); grid-stride over the elements.
// Elements are `V`: vec4f when n is a multiple of 4 (the host then gives `count` = n / 4), else f32
// (src/ops/relu.ts swaps the alias line below: WGSL has no type overrides). vec4 loads pay on SwiftShader,
// where each invocation is a CPU SIMD lane and each load a per-lane gather; each invocation takes several
// elements (the host launches about one workgroup per 4·WG), as many tiny workgroups cost there too.

alias V = vec4f;

struct Params {
  // Elements of type V.
  count: u32,
}

@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read> dout: array<V>;
@group(0) @binding(2) var<storage, read_write> y: array<V>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 64;

// y = max(0, x)
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < params.count; i += nwg.x * WG) {
    y[i] = max(x[i], V(0.0));
  }
}

// y = dout where x > 0, else 0 (x is the forward input)
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < params.count; i += nwg.x * WG) {
    y[i] = select(V(0.0), dout[i], x[i] > V(0.0));
  }
}
