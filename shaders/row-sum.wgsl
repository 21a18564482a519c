// Prelude of shaders/layernorm.wgsl for any adapter: rowSum adds a vec2f over the WG invocations of a
// workgroup (WG a power of two, at most 256) with the shared tree sum (shaders/lib/tree-sum.wgsl, linked in
// front) and returns the total to every invocation. Every invocation must call it (it has barriers).

fn rowSum(v: vec2f, lid: u32) -> vec2f {
  return treeSum(v, 0u, lid, WG, 1u);
}
