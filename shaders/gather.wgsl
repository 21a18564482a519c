// Minibatch gather from uint8 images (the design's "training set on the GPU as packed uint8"): out[i, j] =
// f32(images[indices[i], j]) - mean[j], the mean-image subtraction of cs231n get_CIFAR10_data done per batch.
// Bytes are packed 4 per u32, little-endian (byte k of the data is bits 8(k%4).. of word k/4).
// An index >= count writes NaN rather than reading another image: bad indices show up in the loss.
//
// `rows16` (dim a multiple of 16, so every image row starts on a 16-byte boundary): a 2D grid, row i =
// workgroup y, one invocation per 16 pixels reads one vec4u and writes four vec4f; no division per
// element. On SwiftShader (each invocation a CPU SIMD lane, each load a per-lane gather) this ran 10x
// faster than one pixel per invocation, and 2x faster than 4 pixels per invocation: the per-invocation
// work (row index, bounds check, addressing) weighs as much as the pixels. `main` is the general form.
//
// Chunks: a data set larger than one storage binding (maxStorageBufferBindingSize, often 128 MiB; CIFAR-10's
// training set is 150 MB) is uploaded as several buffers of whole images, each packed from its own first
// row. One dispatch per chunk writes the rows whose index falls in [base, base + rows) and skips the others;
// the chunk at base 0 also writes the NaN rows of out-of-range indices.
//
// Labels: with `labeled` set, the same launch (the chunk at base 0) also gathers the minibatch's labels by the same
// indices, yout[i] = labels[indices[i]] (labels of the whole data set, one buffer), so a minibatch is one dispatch
// per chunk of images; an out-of-range index gives the label 0x7fc00000 | (index & 0xff), which no class has, so the
// softmax loss turns NaN. Without labels the two bindings hold placeholders the kernel never touches.

struct Params {
  batch: u32,
  dim: u32,
  count: u32,  // images in the whole data set
  base: u32,   // first image of this chunk
  rows: u32,   // images in this chunk
  labeled: u32, // 1: also gather labels into yout
}

@group(0) @binding(0) var<storage, read> images: array<u32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> labels: array<u32>;
@group(0) @binding(6) var<storage, read_write> yout: array<u32>;
// The same bindings as vectors, for `rows16`.
@group(0) @binding(0) var<storage, read> images16: array<vec4u>;
@group(0) @binding(1) var<storage, read> mean4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

override WG: u32 = 256;

// A quiet NaN made at run time (a NaN constant would be a shader-creation error).
fn quietNan(payload: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (payload & 0xffu));
}

// Row i's label, in the launch that writes labels (the first chunk's, when labeled).
fn gatherLabel(i: u32, image: u32) {
  if (params.labeled == 0u || params.base != 0u) { return; }
  if (image >= params.count) {
    yout[i] = 0x7fc00000u | (image & 0xffu);
  } else {
    yout[i] = labels[image];
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let dim = params.dim;
  let total = params.batch * dim;
  for (var e = gid.x; e < total; e += nwg.x * WG) {
    let i = e / dim;
    let j = e - i * dim;
    let image = indices[i];
    if (j == 0u) { gatherLabel(i, image); }
    if (image >= params.count) {
      if (params.base == 0u) { out[e] = quietNan(image); }
    } else if (image >= params.base && image - params.base < params.rows) {
      let b = (image - params.base) * dim + j;
      let byte = (images[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
      out[e] = f32(byte) - mean[j];
    }
  }
}

// The 4 pixels packed in one word, as f32.
fn pixels(word: u32) -> vec4f {
  return vec4f((vec4u(word) >> vec4u(0u, 8u, 16u, 24u)) & vec4u(0xffu));
}

// Grid (ceil(dim / (16 WG)), batch): pixels 16j .. 16j+15 of row i.
@compute @workgroup_size(WG)
fn rows16(@builtin(global_invocation_id) gid: vec3u) {
  let blocks = params.dim / 16u;
  let j = gid.x;
  let i = gid.y;
  if (j >= blocks) { return; }
  let image = indices[i];
  if (j == 0u) { gatherLabel(i, image); }
  let o = 4u * (i * blocks + j);
  if (image >= params.count) {
    if (params.base != 0u) { return; }
    let nan = vec4f(quietNan(image));
    out4[o] = nan;
    out4[o + 1u] = nan;
    out4[o + 2u] = nan;
    out4[o + 3u] = nan;
    return;
  }
  if (image < params.base || image - params.base >= params.rows) { return; }
  let words = images16[(image - params.base) * blocks + j];
  let m = 4u * j;
  out4[o] = pixels(words.x) - mean4[m];
  out4[o + 1u] = pixels(words.y) - mean4[m + 1u];
  out4[o + 2u] = pixels(words.z) - mean4[m + 2u];
  out4[o + 3u] = pixels(words.w) - mean4[m + 3u];
}
