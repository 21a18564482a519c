enable subgroups;
// Prelude of shaders/layernorm.wgsl where the adapter has `subgroups`. WG is the subgroup width the kernel assumes:
// the adapter's subgroupMinSize by default (4 on SwiftShader, 32 on NVIDIA), or a width the caller forces.
//
// WIDE false (WG <= the adapter's smallest subgroup): a workgroup lies inside one subgroup, so subgroupAdd is the
// sum over the workgroup: no workgroup memory, no barrier (barriers are what SwiftShader, a CPU adapter, pays most for).
// WIDE true (a forced WG wider than the adapter's smallest subgroup, e.g. NVIDIA's 32 on a 4-wide adapter): a WG-wide
// sum built from whatever subgroups the adapter forms, of any size and any layout. Each subgroup adds its lanes with
// subgroupAdd; its elected lane writes that partial to its own slot and every other lane writes 0; after a barrier
// every invocation adds the WG slots in slot order, so all get the same total. (The two-level subgroup-then-shared
// reduction of CUDA's block reductions, e.g. CUB's BlockReduce WARP_REDUCTIONS, without assuming where subgroups start.)

override WIDE: bool = false;

var<workgroup> partials: array<vec2f, WG>;

fn rowSum(v: vec2f, lid: u32) -> vec2f {
  let s = subgroupAdd(v);
  if (!WIDE) {
    return s;
  }
  partials[lid] = select(vec2f(0.0), s, subgroupElect());
  workgroupBarrier();
  var total = vec2f(0.0);
  for (var i = 0u; i < WG; i++) {
    total += partials[i];
  }
  workgroupBarrier();
  return total;
}
