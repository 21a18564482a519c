// Column sums of a row-major rows×cols matrix, y[j] = Σ_i x[i, j]: the bias gradient db = Σ_rows dout of
// cs231n's affine_backward. One invocation per column (adjacent invocations read adjacent columns, so
// each row is read coalesced), four independent partial sums for latency hiding, grid-stride over columns.
// Workgroup row wid.y sums the rows of split wid.y (chunkRows each) into row wid.y of y: one split (chunkRows = rows)
// is the whole sum; several give partial rows [splits, cols] that a second one-split pass adds up (src/ops/affine.ts).
struct Params {
  rows: u32,
  cols: u32,
  chunkRows: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let cols = params.cols;
  let r0 = wid.y * params.chunkRows;
  let rows = min(params.rows, r0 + params.chunkRows);
  for (var j = gid.x; j < cols; j += nwg.x * WG) {
    var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
    var i = r0;
    for (; i + 4u <= rows; i += 4u) {
      s0 += x[i * cols + j];
      s1 += x[(i + 1u) * cols + j];
      s2 += x[(i + 2u) * cols + j];
      s3 += x[(i + 3u) * cols + j];
    }
    for (; i < rows; i++) { s0 += x[i * cols + j]; }
    y[wid.y * cols + j] = (s0 + s1) + (s2 + s3);
  }
}
