enable subgroups;
// Probe of the subgroup layout matmul's block8sg kernel assumes (shaders/matmul-subgroups.wgsl): subgroups of 4 lanes
// made of 4 consecutive invocations, lane i % 4 of invocation i. Each invocation writes 1 where that holds for it.

@group(0) @binding(0) var<storage, read_write> ok: array<u32>;

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let leader = subgroupBroadcast(li, 0u);
  ok[wid.x * 16u + li] = select(0u, 1u, (size == 4u) & (lane == li % 4u) & (leader == li - li % 4u));
}
