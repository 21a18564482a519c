// Batch normalization backward, x is [n, d] row-major: what its two forms share. The forms are the staged
// computational graph of the seed (cs231n batchnorm_backward; its per-node kernels in batchnorm-backward-graph.wgsl and,
// one dispatch for every node, batchnorm-graph-columns.wgsl) and the closed form of the seed's batchnorm_backward_alt
// (dx = gamma / (N sigma) * (N dout - sum dout - xhat * sum(dout * xhat)); its kernels in
// batchnorm-backward-alternative.wgsl). Linked behind shaders/lib/columns.wgsl and shaders/lib/tree-sum.wgsl, in front
// of those files, by src/ops/norm-columns.ts.
//
// Here: the Params, every binding and override, the gradient read through the fused ReLU (dout1, dout4), and the column
// sums both forms (and layer norm's parameter gradients) run: partA = sum dout, partB = sum dout * xhat.
// Big batches (several row chunks): column sums use the tiling of batchnorm-forward.wgsl, a workgroup
// owns COLS columns x one chunk of rows and tree-reduces over its ROWS row-lanes; each chunk writes a
// partial row [chunk, d] and `combine` adds them up in chunk order.
// Small batches (one chunk) take the `*Columns` kernels, without workgroup memory or barriers: each invocation owns 4
// adjacent columns and loops over every row (see batchnorm-forward.wgsl for why this pays on SwiftShader).

struct Params {
  n: u32,
  d: u32,
  chunkRows: u32,
  chunks: u32,
}

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> xhat: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> invStd: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> sumA: array<f32>;
@group(0) @binding(7) var<storage, read> sumB: array<f32>;
@group(0) @binding(8) var<storage, read_write> partA: array<f32>;
@group(0) @binding(9) var<storage, read_write> partB: array<f32>;
@group(0) @binding(10) var<storage, read_write> dxhat: array<f32>;
@group(0) @binding(11) var<storage, read_write> dx1: array<f32>;
@group(0) @binding(12) var<storage, read_write> dx: array<f32>;
@group(0) @binding(13) var<uniform> params: Params;
// With RELU, the output of the fused batchnorm + ReLU forward: dout is then the gradient of the ReLU's output.
@group(0) @binding(14) var<storage, read> reluOut: array<f32>;

override COLS: u32 = 32;
override ROWS: u32 = 8;
// Elementwise workgroup size (the `*Columns` kernels: invocations of 4 columns each).
override WG: u32 = 256;
// xmu from x - mean (the seed's cache) rather than xhat / invStd.
override USE_X: bool = true;
// ReLU fused in front (batchnorm then ReLU in one forward op): the incoming gradient is masked by reluOut > 0,
// which is relu_backward done on the fly instead of as its own pass.
override RELU: bool = false;
// `combine` adds two partial rows (sumA and sumB's sources) rather than one.
override PAIR: bool = true;

// Sums of `v` over the ROWS row-lanes of each column, returned to every lane (shaders/lib/tree-sum.wgsl, linked in front).
fn rowSum(v: vec2f, lid: vec3u) -> vec2f {
  return treeSum(v, lid.x, lid.y, ROWS, COLS);
}

// Rows [r0, r1) of the workgroup's chunk.
fn chunkRange(wid: vec3u) -> vec2u {
  let r0 = wid.y * params.chunkRows;
  return vec2u(r0, min(r0 + params.chunkRows, params.n));
}

// The gradient reaching batchnorm's output at element i (4 elements): dout, masked by the fused ReLU when RELU.
fn dout1(i: u32) -> f32 {
  if (RELU) { return select(0.0, dout[i], reluOut[i] > 0.0); }
  return dout[i];
}

fn dout4(i: vec4u) -> vec4f {
  let g = load4(&dout, i);
  if (RELU) { return select(vec4f(0.0), g, load4(&reluOut, i) > vec4f(0.0)); }
  return g;
}

// Graph node dbeta/dgamma, and the alternative's single reduction: partA = sum dout, partB = sum dout * xhat.
@compute @workgroup_size(COLS, ROWS)
fn sumDoutXhat(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let rr = chunkRange(wid);
  var acc = vec2f(0.0);
  if (col < d) {
    for (var r = rr.x + lid.y; r < rr.y; r += ROWS) {
      let g = dout1(r * d + col);
      acc += vec2f(g, g * xhat[r * d + col]);
    }
  }
  let s = rowSum(acc, lid);
  if (lid.y == 0u && col < d) {
    partA[wid.y * d + col] = s.x;
    partB[wid.y * d + col] = s.y;
  }
}

// With several chunks: add up the partial rows, partA[j] = sum_c sumA[c, j] (and partB from sumB when PAIR).
@compute @workgroup_size(64)
fn combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let d = params.d;
  for (var col = gid.x; col < d; col += nwg.x * 64u) {
    var a = 0.0;
    var b = 0.0;
    for (var c = 0u; c < params.chunks; c++) {
      a += sumA[c * d + col];
      if (PAIR) { b += sumB[c * d + col]; }
    }
    partA[col] = a;
    if (PAIR) { partB[col] = b; }
  }
}

// quadColumns, load4, load4rw and store4 come from shaders/lib/columns.wgsl, prepended at load time.

// Graph node dbeta/dgamma, one chunk: partA = sum dout, partB = sum dout * xhat.
@compute @workgroup_size(WG)
fn sumsColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  var sa = vec4f(0.0);
  var sb = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    let g = dout4(i);
    sa += g;
    sb += g * load4(&xhat, i);
  }
  store4(&partA, c, sa);
  store4(&partB, c, sb);
}
