// Shared by the matmul kernels (shaders/matmul.wgsl, shaders/matmul-v8.wgsl, shaders/matmul-subgroups.wgsl):
// the uniform, the bindings, the override constants and the bias/store helpers. WGSL has no include, so
// src/ops/matmul.ts links this file in front of a kernel's file (linkWgsl) before reflection and compilation.
//
// Dense f32 matmul C = op(A)·op(B) (+ bias[n] on every row) for the layouts backprop needs (A·B, A·Bᵀ, Aᵀ·B).
//
// Algorithm: register blocking without workgroup memory or barriers. Each invocation owns one block of C
// and walks K, doing a rank-1 update of its block per k (the outer-product form of the classic GEMM
// inner kernel, as in Volkov & Demmel, "Benchmarking GPUs to tune dense linear algebra", SC'08, and
// the micro-kernels of Goto & van de Geijn, "Anatomy of high-performance matrix multiplication",
// TOMS 2008). K can be split over the z grid dimension ("split-K", as in CUTLASS): each split writes
// a partial product and the `reduce` entry point sums them, adding the bias there instead.
//
// Entry points (all over row-major buffers; op(A) is m×k, stored k×m when TRANS_A; op(B) is k×n,
// stored n×k when TRANS_B):
//   main      (matmul.wgsl) 8x8 block, scalar loads: any m, n, k. The CPU adapters' kernel: SwiftShader
//             (Subzero) turns every storage load into an emulated 4-lane gather plus a bounds clamp, so loads
//             per flop decide; 8x8 needs half the loads of 4x4 per flop. Larger blocks spill and
//             unrolling K grows the code, both slower there (docs/benchmarks.md has the figures).
//   main_vec4 (matmul.wgsl) 4x4 block, vec4 loads: needs m % 4 == 0 when TRANS_A, n % 4 == 0 unless TRANS_B,
//             and k % 4 == 0 unless the layout is Aᵀ·B (the only one whose vec4s do not run along k).
//             The GPUs' kernel for dense, unbatched operands.
//   main_v8   (matmul-v8.wgsl; main_v8c with vec4 stores) 8x8 block, vec4 loads, batched and strided: the CPU
//             adapters' kernel where the same alignment holds (and lda, ldb, the batch offsets are multiples
//             of 4); `main` is their fallback.
//   main_v8s  (matmul-subgroups.wgsl) main_v8 with A's loads shared by the 4 lanes of a subgroup, for
//             products sharing A on CPU adapters with 4-lane subgroups.
//   main_tiled (matmul-tiled.wgsl, rows tile128, tile64, tile128k16) workgroup-memory tiles loaded in each layout's
//             grain, 8x8 blocks, double-buffered K tiles: any shape, stride and batch; the GPUs' kernel for large products.
//   reduce    (matmul.wgsl) C = Σ_split partial + bias, grid-stride over m·n (per batch).
// Edges: block origins are clamped so loads stay in bounds; stores are guarded per element.
//
// Batched (the model axis of a population, src/nn/population.ts): `main` and `reduce` take `batches`
// independent products in one dispatch, batch b reading A at b·batchA, B at b·batchB and writing C at
// b·batchC (bias at b·batchBias); rows of A, B and C are lda, ldb, ldc apart, so a column block of a
// wider matrix ([n, M·H], model b's H columns) is an operand, and batchA = 0 shares one A (the input
// rows) among all. The z grid dimension runs over batches × splits.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // K range of the split z: [z * kchunk, min(k, (z + 1) * kchunk)); a multiple of 4 for main_vec4.
  kchunk: u32,
  // Blocks per block-row (ceil(n / block width)) and blocks in total.
  nb: u32,
  blocks: u32,
  // reduce: how many partial products `part` holds.
  splits: u32,
  // Row strides of the stored A, B and C (A: k or m, B: n or k, C: n for one plain product).
  lda: u32,
  ldb: u32,
  ldc: u32,
  // Batched products: how many, and where batch b's A, B, C and bias start (main_vec4: batches = 1).
  batches: u32,
  batchA: u32,
  batchB: u32,
  batchC: u32,
  batchBias: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
// The same two bindings seen as vec4 (main_vec4 only; an entry point uses one view or the other).
@group(0) @binding(0) var<storage, read> av: array<vec4f>;
@group(0) @binding(1) var<storage, read> bv: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
// C seen as vec4 (main_v8c only).
@group(0) @binding(2) var<storage, read_write> cv: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> part: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Add bias[j] when writing C (main/main_vec4 without split, or reduce).
override HAS_BIAS: bool = false;
// ReLU epilogue: C = max(0, op(A)·op(B) + bias) where C is final (without split, or in reduce; never on partials).
override RELU: bool = false;
override WG: u32 = 64;

fn biasAt(j: u32) -> f32 {
  if (HAS_BIAS) { return bias[j]; }
  return 0.0;
}

// The epilogue's activation of a final value of C: identity, or ReLU (RELU).
fn act(v: f32) -> f32 {
  if (RELU) { return max(v, 0.0); }
  return v;
}

fn act4(v: vec4f) -> vec4f {
  if (RELU) { return max(v, vec4f(0.0)); }
  return v;
}

// Store four consecutive columns j..j+3 of row i at `base` (the split's slice of C, or the batch's block of
// C with rows `ld` apart), bias from `bb` on, through the epilogue (act), guarded.
fn put4(base: u32, ld: u32, bb: u32, i: u32, j: u32, v: vec4f) {
  let m = params.m;
  let n = params.n;
  if (i >= m) { return; }
  let row = base + i * ld;
  if (j < n) { c[row + j] = act(v.x + biasAt(bb + j)); }
  if (j + 1u < n) { c[row + j + 1u] = act(v.y + biasAt(bb + j + 1u)); }
  if (j + 2u < n) { c[row + j + 2u] = act(v.z + biasAt(bb + j + 2u)); }
  if (j + 3u < n) { c[row + j + 3u] = act(v.w + biasAt(bb + j + 3u)); }
}
