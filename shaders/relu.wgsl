// ReLU forward and backward, elementwise (cs231n relu_forward / relu_backward); grid-stride over n.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 256;

// y = max(0, x)
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < params.n; i += nwg.x * WG) {
    y[i] = max(x[i], 0.0);
  }
}

// y = dout where x > 0, else 0 (x is the forward input)
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < params.n; i += nwg.x * WG) {
    y[i] = select(0.0, dout[i], x[i] > 0.0);
  }
}
