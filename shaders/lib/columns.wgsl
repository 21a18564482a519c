// Shared helpers of the column kernels (batchnorm forward and backward): each invocation owns 4 adjacent
// columns. WGSL has no include, so src/ops prepends this file to a kernel's source with linkWgsl (gpu/kernel.ts)
// before it is reflected and compiled.

// The 4 adjacent columns from 4 * quad, clamped to d - 1: the last invocation's surplus lanes redo column
// d - 1 bit for bit (same inputs, same operations), so their duplicate stores write the same value.
fn quadColumns(quad: u32, d: u32) -> vec4u {
  return min(vec4u(4u * quad) + vec4u(0u, 1u, 2u, 3u), vec4u(d - 1u));
}

// The elements at 4 indices (on SwiftShader a vec4f load is 4 per-lane gathers as well: same cost).
fn load4(a: ptr<storage, array<f32>, read>, i: vec4u) -> vec4f {
  return vec4f((*a)[i.x], (*a)[i.y], (*a)[i.z], (*a)[i.w]);
}

// load4 from a read_write binding.
fn load4rw(a: ptr<storage, array<f32>, read_write>, i: vec4u) -> vec4f {
  return vec4f((*a)[i.x], (*a)[i.y], (*a)[i.z], (*a)[i.w]);
}

// Store v.x .. v.w at the 4 indices, in that order.
fn store4(a: ptr<storage, array<f32>, read_write>, i: vec4u, v: vec4f) {
  (*a)[i.x] = v.x;
  (*a)[i.y] = v.y;
  (*a)[i.z] = v.z;
  (*a)[i.w] = v.w;
}
