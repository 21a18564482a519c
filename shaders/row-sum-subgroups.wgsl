enable subgroups;
// Prelude of shaders/layernorm.wgsl where the adapter has `subgroups`: the host sets WG to the adapter's
// subgroupMinSize, so a workgroup is exactly one subgroup and subgroupAdd is the sum over the workgroup:
// no workgroup memory, no barrier (barriers are what SwiftShader, a CPU adapter, pays most for).

fn rowSum(v: vec2f, lid: u32) -> vec2f {
  return subgroupAdd(v);
}
