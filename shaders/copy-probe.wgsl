// The copy-bandwidth probe: dst = src in vec4 loads and stores, grid-strided; it moves 2 * bytes per run.
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let count = arrayLength(&dst);
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < count; i += stride) {
    dst[i] = src[i];
  }
}
