// The backward of an affine layer out = x·W + b in one dispatch (cs231n affine_backward): dx = dout·Wᵀ [n, d],
// dW = xᵀ·dout [d, m] and db = Σ_rows dout [m], as one grouped launch whose invocations are partitioned between the
// three products (the grouped GEMM of CUTLASS: one launch, a table of problems, each workgroup's work found from its
// index). Invocations 0 .. dxBlocks-1 own an 8x8 block of dx, the next dwBlocks an 8x8 block of dW, the last dbQuads
// 4 columns of db. The blocks are the register blocking of shaders/matmul.wgsl `main` (an outer product per k, no
// workgroup memory; Volkov & Demmel, SC'08), with scalar loads so any shape runs. With RELU the layer's output was
// ReLU'd (out = max(0, x·W + b)): dout is masked by reluOut > 0 as it is loaded, which is relu_backward on the fly.

struct Params {
  n: u32,
  d: u32,
  m: u32,
  // 8x8 blocks of dx (ceil(n / 8) x ceil(d / 8); 0 without dx) and of dW (ceil(d / 8) x ceil(m / 8)), quads of db.
  dxBlocks: u32,
  dwBlocks: u32,
  dbQuads: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
// With RELU, the layer's (ReLU'd) output; bound to dout otherwise.
@group(0) @binding(3) var<storage, read> reluOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw: array<f32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

override WG: u32 = 64;
override RELU: bool = false;

// The gradient at element i of dout (masked by the fused ReLU when RELU).
fn g(i: u32) -> f32 {
  if (RELU) { return select(0.0, dout[i], reluOut[i] > 0.0); }
  return dout[i];
}

// An 8x8 block: t[2r] is row r, columns 0..3; t[2r + 1] columns 4..7.
fn rank1(t: ptr<function, array<vec4f, 16>>, a0: vec4f, a1: vec4f, b0: vec4f, b1: vec4f) {
  (*t)[0] += a0.x * b0; (*t)[1] += a0.x * b1;
  (*t)[2] += a0.y * b0; (*t)[3] += a0.y * b1;
  (*t)[4] += a0.z * b0; (*t)[5] += a0.z * b1;
  (*t)[6] += a0.w * b0; (*t)[7] += a0.w * b1;
  (*t)[8] += a1.x * b0; (*t)[9] += a1.x * b1;
  (*t)[10] += a1.y * b0; (*t)[11] += a1.y * b1;
  (*t)[12] += a1.z * b0; (*t)[13] += a1.z * b1;
  (*t)[14] += a1.w * b0; (*t)[15] += a1.w * b1;
}

// Four consecutive indices from `first`, clamped to `last` (a block's edge reads a copy of the last row or column).
fn four(first: u32, last: u32) -> vec4u {
  return min(vec4u(first) + vec4u(0u, 1u, 2u, 3u), vec4u(last));
}

// Store the block at (i0, j0) of a rows x cols matrix, guarded per element.
fn putBlock(c: ptr<storage, array<f32>, read_write>, rows: u32, cols: u32, i0: u32, j0: u32, t: array<vec4f, 16>) {
  for (var r = 0u; r < 8u; r++) {
    let i = i0 + r;
    if (i >= rows) { return; }
    for (var q = 0u; q < 2u; q++) {
      let v = t[2u * r + q];
      let j = j0 + 4u * q;
      if (j < cols) { (*c)[i * cols + j] = v.x; }
      if (j + 1u < cols) { (*c)[i * cols + j + 1u] = v.y; }
      if (j + 2u < cols) { (*c)[i * cols + j + 2u] = v.z; }
      if (j + 3u < cols) { (*c)[i * cols + j + 3u] = v.w; }
    }
  }
}

// dx block (i0 rows of n, j0 columns of d): dx[i, j] = Σ_k dout[i, k] w[j, k], k over m.
fn dxBlock(i0: u32, j0: u32) {
  let n = params.n;
  let d = params.d;
  let m = params.m;
  let ra = four(i0, n - 1u) * m;
  let rA = four(i0 + 4u, n - 1u) * m;
  let cb = four(j0, d - 1u) * m;
  let cB = four(j0 + 4u, d - 1u) * m;
  var t: array<vec4f, 16>;
  for (var k = 0u; k < m; k++) {
    let a0 = vec4f(g(ra.x + k), g(ra.y + k), g(ra.z + k), g(ra.w + k));
    let a1 = vec4f(g(rA.x + k), g(rA.y + k), g(rA.z + k), g(rA.w + k));
    let b0 = vec4f(w[cb.x + k], w[cb.y + k], w[cb.z + k], w[cb.w + k]);
    let b1 = vec4f(w[cB.x + k], w[cB.y + k], w[cB.z + k], w[cB.w + k]);
    rank1(&t, a0, a1, b0, b1);
  }
  putBlock(&dx, n, d, i0, j0, t);
}

// dW block (i0 rows of d, j0 columns of m): dW[i, j] = Σ_k x[k, i] dout[k, j], k over n.
fn dwBlock(i0: u32, j0: u32) {
  let n = params.n;
  let d = params.d;
  let m = params.m;
  let ra = four(i0, d - 1u);
  let rA = four(i0 + 4u, d - 1u);
  let cb = four(j0, m - 1u);
  let cB = four(j0 + 4u, m - 1u);
  var t: array<vec4f, 16>;
  for (var k = 0u; k < n; k++) {
    let pa = k * d;
    let pb = k * m;
    let a0 = vec4f(x[pa + ra.x], x[pa + ra.y], x[pa + ra.z], x[pa + ra.w]);
    let a1 = vec4f(x[pa + rA.x], x[pa + rA.y], x[pa + rA.z], x[pa + rA.w]);
    let b0 = vec4f(g(pb + cb.x), g(pb + cb.y), g(pb + cb.z), g(pb + cb.w));
    let b1 = vec4f(g(pb + cB.x), g(pb + cB.y), g(pb + cB.z), g(pb + cB.w));
    rank1(&t, a0, a1, b0, b1);
  }
  putBlock(&dw, d, m, i0, j0, t);
}

// db for 4 columns from 4 * quad (clamped: surplus lanes redo column m - 1 bit for bit).
fn dbQuad(quad: u32) {
  let m = params.m;
  let c = four(4u * quad, m - 1u);
  var s = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let o = r * m;
    s += vec4f(g(o + c.x), g(o + c.y), g(o + c.z), g(o + c.w));
  }
  db[c.x] = s.x;
  db[c.y] = s.y;
  db[c.z] = s.z;
  db[c.w] = s.w;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wid.y * nwg.x + wid.x) * WG + li;
  if (id < params.dxBlocks) {
    let nb = (params.d + 7u) / 8u;
    dxBlock((id / nb) * 8u, (id % nb) * 8u);
    return;
  }
  let v = id - params.dxBlocks;
  if (v < params.dwBlocks) {
    let nb = (params.m + 7u) / 8u;
    dwBlock((v / nb) * 8u, (v % nb) * 8u);
    return;
  }
  let q = v - params.dwBlocks;
  if (q < params.dbQuads) { dbQuad(q); }
}
