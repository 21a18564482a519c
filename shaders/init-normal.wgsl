// Initial weights drawn on the GPU: out = scale · N(0, 1) from Philox4x32-10 (lib/philox.wgsl, linked in front), for
// the same tensor of `models` nets at once, each net its own key (its seed) and scale. The keying, and why a net's
// weights depend on its own options only, is written once in src/reference/philox.ts, the float64 twin.
//
// Element e of one model's tensor (row-major over its real shape [rows, cols]) is lane e & 3 of the Philox group
// g = e >> 2, counter (g, stream, 0, 'init'): one invocation per group draws its four normals (two Box–Muller pairs)
// and writes those inside the tensor. Model k's tensor is stored as [storedRows, storedCols] at k·storedRows·storedCols;
// the rows and columns past [rows, cols] (a population's padding) are not written.

const INIT_TAG = 0x696e6974u; // 'init'

struct Params {
  rows: u32,
  cols: u32,
  storedRows: u32,
  storedCols: u32,
  // Philox groups per model: ceil(rows·cols / 4).
  groups: u32,
  models: u32,
  // The tensor's stream: l for W_l.
  stream: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
// Model k's key (its seed's low and high words) and scale.
@group(0) @binding(1) var<storage, read> keys: array<vec2u>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let count = params.rows * params.cols;
  for (var i = gid.x; i < params.groups * params.models; i += nwg.x * WG) {
    let k = i / params.groups;
    let g = i - k * params.groups;
    let words = philox4x32_10(vec4u(g, params.stream, 0u, INIT_TAG), keys[k]);
    let a = normalPair(words.x, words.y);
    let b = normalPair(words.z, words.w);
    let z = vec4f(a, b) * scales[k];
    let base = k * params.storedRows * params.storedCols;
    for (var lane = 0u; lane < 4u; lane++) {
      let e = 4u * g + lane;
      if (e < count) {
        let row = e / params.cols;
        out[base + row * params.storedCols + (e - row * params.cols)] = z[lane];
      }
    }
  }
}
