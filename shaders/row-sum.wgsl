// Prelude of shaders/layernorm.wgsl for any adapter: rowSum adds a vec2f over the WG invocations of a
// workgroup with a tree reduction in workgroup memory (WG a power of two, at most 256) and returns the
// total to every invocation. Every invocation must call it (it has barriers).

var<workgroup> red: array<vec2f, 256>;

fn rowSum(v: vec2f, lid: u32) -> vec2f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
