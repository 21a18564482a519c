// The large-shape matmul kernel `main_tiled`: workgroup-memory tiles loaded in each layout's grain, 8x8 register blocks,
// double-buffered K tiles; linked behind shaders/lib/matmul-common.wgsl and a two-line prelude of its tile constants
// (src/ops/matmul-variants.ts: `tile128` is TW = 16, BK = 8; `tile64` is TW = 8, BK = 16; `tile128k16` TW = 16, BK = 16).
//
// Why the register-only kernels are slow on a big GPU (main_vec4, the GPUs' kernel before this one): an invocation owns
// a 4x4 block and reads its operands straight from global memory. In A·Bᵀ, B is stored n×k, and the 32 lanes of a warp
// own 32 adjacent column blocks: each load reads 16 bytes from 32 rows k floats apart, so every warp load touches 32
// separate memory sectors and no two lanes share one (uncoalesced), and the next 16 bytes of those rows are only read
// back from L1 if the lines survive, which they do not with thousands of rows in flight. A·B reads B along its rows
// (lane j reads the 16 bytes after lane j - 1: coalesced), which is why it ran 10x faster on the same kernel. Even A·B
// reloads every operand once per 4x4 block (k·(m + n)/4 loads for 16·k flops), and the loads of a 8192-wide B fall out
// of L2 between row blocks, hence its drop past 4096.
//
// This kernel follows the worklog of S. Boehm, "How to optimize a CUDA matmul kernel for cuBLAS-like performance"
// (siboehm.com, 2022): kernel 3 (shared-memory cache blocking), 5 (2D block tiling, 8x8 results per thread), 6 (the A
// tile transposed on its way into shared memory so the inner loop reads vec4s of both operands) and the double-buffered
// K loop of its kernel 11 (global loads of tile t + 1 issued before the arithmetic of tile t, then stored into the other
// buffer: one barrier a tile). As in TF.js's WebGPU `matmul_packed_webgpu.ts` (makeMatMulPackedSource), each operand's
// tile is loaded in the grain of its layout (a warp reads consecutive addresses of whichever index is contiguous in
// memory) and written into workgroup memory in one layout, [k][m] and [k][n], whatever the stored one: the transpose
// happens on the way in, so A·B, Aᵀ·B and A·Bᵀ all read global memory coalesced. The tile order groups 8 row tiles
// (Triton's "grouped ordering", the L2 reuse of its matmul tutorial) so a band of B stays in L2 while its rows are done.
//
// Layout of the work: a workgroup of TW x TW invocations owns a BM x BM tile of C (BM = 8·TW). Invocation (tx, ty) owns
// rows ty·4 + {0..3} and BM/2 + ty·4 + {0..3}, columns tx·4 + {0..3} and BM/2 + tx·4 + {0..3}: its two vec4s of a
// workgroup row are 16 bytes apart from its neighbours' (no bank conflicts on NVIDIA's 128-bit shared loads) and its C
// stores are consecutive with theirs. Workgroup memory holds vec4s: index (kk, q) is the 4 rows (or columns) 4q..4q+3 at
// k = kk, XOR-swizzled by kk (q ^ kk) so the transposing stores of a k-contiguous operand (lanes over kk) fall in
// distinct banks without padding; 2 buffers x BK x BM floats per operand: 16 KB for tile128 and tile64, the default
// limit; tile128k16 needs 32 KB (maxComputeWorkgroupStorageSize, granted where the adapter has it).
// Edges: a load outside m, n or the split's K range reads 0 (so K tails, ragged M and N and any stride or batch offset
// need nothing aligned); stores are guarded per element (put4). Split K and batches as in `main` (z = splits x batches).

const BM: u32 = 8u * TW;
const NT: u32 = TW * TW;
const Q: u32 = BM / 4u;
// Elements of one operand's K tile each invocation loads.
const LOADS: u32 = BM * BK / NT;

var<workgroup> tileA: array<vec4f, 2u * BK * Q>;
var<workgroup> tileB: array<vec4f, 2u * BK * Q>;

// Workgroup-memory index of vec4 q (rows or columns 4q..4q+3) at k = kk of buffer `buf`.
fn swz(buf: u32, kk: u32, q: u32) -> u32 {
  return (buf * BK + kk) * Q + (q ^ (kk & (Q - 1u)));
}

// Element t of an invocation's share of a BM x BK tile: (row or column r, kk), lanes running along whichever index is
// contiguous in memory (kk when `kContig`, r otherwise), so a warp's loads are consecutive addresses.
fn tileCoord(li: u32, t: u32, kContig: bool) -> vec2u {
  let e = li + t * NT;
  if (kContig) { return vec2u(e / BK, e % BK); }
  return vec2u(e % BM, e / BM);
}

// Loads for one K tile at k0: A's (op(A) rows i0.., K k0..) and B's (K k0.., op(B) columns j0..); 0 outside.
struct Tile {
  a: array<f32, LOADS>,
  b: array<f32, LOADS>,
}

fn loadTile(li: u32, i0: u32, j0: u32, k0: u32, kend: u32, oa: u32, ob: u32) -> Tile {
  var t: Tile;
  let lda = params.lda;
  let ldb = params.ldb;
  for (var s = 0u; s < LOADS; s++) {
    let pa = tileCoord(li, s, !TRANS_A);
    let ia = i0 + pa.x;
    let ka = k0 + pa.y;
    let okA = ia < params.m && ka < kend;
    let ga = oa + select(ia * lda + ka, ka * lda + ia, TRANS_A);
    t.a[s] = select(0.0, a[select(0u, ga, okA)], okA);
    let pb = tileCoord(li, s, TRANS_B);
    let jb = j0 + pb.x;
    let kb = k0 + pb.y;
    let okB = jb < params.n && kb < kend;
    let gb = ob + select(kb * ldb + jb, jb * ldb + kb, TRANS_B);
    t.b[s] = select(0.0, b[select(0u, gb, okB)], okB);
  }
  return t;
}

fn storeTile(li: u32, buf: u32, t: Tile) {
  for (var s = 0u; s < LOADS; s++) {
    let pa = tileCoord(li, s, !TRANS_A);
    tileA[swz(buf, pa.y, pa.x / 4u)][pa.x % 4u] = t.a[s];
    let pb = tileCoord(li, s, TRANS_B);
    tileB[swz(buf, pb.y, pb.x / 4u)][pb.x % 4u] = t.b[s];
  }
}

@compute @workgroup_size(WG)
fn main_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  // The tile of C, in groups of 8 row tiles (each group walks its columns with its rows innermost).
  let p = wid.y * nwg.x + wid.x;
  if (p >= params.blocks) { return; }
  let nb = params.nb;
  let tilesM = params.blocks / nb;
  let group = p / (8u * nb);
  let first = group * 8u;
  let rowsIn = min(tilesM - first, 8u);
  let inGroup = p % (8u * nb);
  let i0 = (first + inGroup % rowsIn) * BM;
  let j0 = (inGroup / rowsIn) * BM;
  let batch = wid.z / params.splits;
  let split = wid.z % params.splits;
  let oa = batch * params.batchA;
  let ob = batch * params.batchB;
  let tx = li % TW;
  let ty = li / TW;

  var acc: array<vec4f, 16>;
  let kbeg = split * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);
  let tiles = (kend - kbeg + BK - 1u) / BK;
  storeTile(li, 0u, loadTile(li, i0, j0, kbeg, kend, oa, ob));
  workgroupBarrier();
  for (var t = 0u; t < tiles; t++) {
    let cur = t % 2u;
    let more = t + 1u < tiles;
    // the next tile's global loads are in flight during this tile's arithmetic
    var next: Tile;
    if (more) { next = loadTile(li, i0, j0, kbeg + (t + 1u) * BK, kend, oa, ob); }
    for (var kk = 0u; kk < BK; kk++) {
      let a0 = tileA[swz(cur, kk, ty)];
      let a1 = tileA[swz(cur, kk, ty + TW)];
      let b0 = tileB[swz(cur, kk, tx)];
      let b1 = tileB[swz(cur, kk, tx + TW)];
      // acc[2r + h]: row r of the 8 (a0 then a1), columns b0 (h = 0) or b1; written out so every index is a constant
      acc[0] += a0.x * b0; acc[1] += a0.x * b1; acc[2] += a0.y * b0; acc[3] += a0.y * b1;
      acc[4] += a0.z * b0; acc[5] += a0.z * b1; acc[6] += a0.w * b0; acc[7] += a0.w * b1;
      acc[8] += a1.x * b0; acc[9] += a1.x * b1; acc[10] += a1.y * b0; acc[11] += a1.y * b1;
      acc[12] += a1.z * b0; acc[13] += a1.z * b1; acc[14] += a1.w * b0; acc[15] += a1.w * b1;
    }
    if (more) { storeTile(li, 1u - cur, next); }
    workgroupBarrier();
  }

  // Split K: partials packed [split][batch][m][n] (reduce adds the bias); else the batch's block of C.
  let m = params.m;
  let n = params.n;
  let splitK = params.splits > 1u;
  let base = select(batch * params.batchC, (split * params.batches + batch) * m * n, splitK);
  let ld = select(params.ldc, n, splitK);
  let bb = batch * params.batchBias;
  for (var r = 0u; r < 8u; r++) {
    let i = i0 + (r / 4u) * (BM / 2u) + ty * 4u + r % 4u;
    put4(base, ld, bb, i, j0 + tx * 4u, acc[2u * r]);
    put4(base, ld, bb, i, j0 + BM / 2u + tx * 4u, acc[2u * r + 1u]);
  }
}
