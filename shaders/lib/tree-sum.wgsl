// The workgroup tree sum every reduction kernel shares (batchnorm's column reductions, layer norm's row sums).
// WGSL has no include: src/ops prepends this file to a kernel's source with linkWgsl (gpu/kernel.ts).

var<workgroup> red: array<vec2f, 256>;

// Sum of `v` over `lanes` invocations (a power of two) whose slots lie `stride` apart from slot `base`
// (`base + lane * stride < 256`), returned to every one of them. Every invocation of the workgroup must call
// it with uniform `lanes` and `stride` (it has barriers). A row: treeSum(v, 0u, lid, WG, 1u); the row-lanes of
// a COLS x ROWS column tile: treeSum(v, lid.x, lid.y, ROWS, COLS).
fn treeSum(v: vec2f, base: u32, lane: u32, lanes: u32, stride: u32) -> vec2f {
  let i = base + lane * stride;
  red[i] = v;
  workgroupBarrier();
  for (var s = lanes / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red[i] += red[i + s * stride]; }
    workgroupBarrier();
  }
  let total = red[base];
  workgroupBarrier();
  return total;
}
