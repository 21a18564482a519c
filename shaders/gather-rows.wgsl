// Row gather: out[i, :] = src[indices[i], :] for 32-bit words (f32 features or u32 labels), copied bit for bit.
// A source larger than one storage binding comes as chunks of whole rows (see gather.wgsl): one dispatch per
// chunk copies the rows in [base, base + chunkRows); the chunk at base 0 also writes the out-of-range rows.
// With `labeled`, the chunk at base 0 also gathers the labels by the same indices (see gather.wgsl).
struct Params { batch: u32, dim: u32, rows: u32, base: u32, chunkRows: u32, labeled: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> yout: array<u32>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.batch * params.dim;
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    let row = i / params.dim;
    let col = i - row * params.dim;
    // An index past the end writes a quiet NaN (as f32) / a huge label (as u32) instead of reading another
    // row, so a bad index shows up in the loss; the host checks indices before upload.
    let r = indices[row];
    if (col == 0u && params.labeled != 0u && params.base == 0u) {
      yout[row] = select(labels[min(r, params.rows - 1u)], 0x7fc00000u | (r & 0xffu), r >= params.rows);
    }
    if (r >= params.rows) {
      if (params.base == 0u) { out[i] = 0x7fc00000u | (r & 0xffu); }
    } else if (r >= params.base && r - params.base < params.chunkRows) {
      out[i] = src[(r - params.base) * params.dim + col];
    }
  }
}
