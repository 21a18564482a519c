// Minibatch gather from uint8 images (the design's "training set on the GPU as packed uint8"): out[i, j] =
// f32(images[indices[i], j]) - mean[j], the mean-image subtraction of cs231n get_CIFAR10_data done per batch.
// Bytes are packed 4 per u32, little-endian (byte k of the data is bits 8(k%4).. of word k/4).
// An index >= count writes NaN rather than reading another image: bad indices show up in the loss.

struct Params {
  batch: u32,
  dim: u32,
  count: u32,
}

@group(0) @binding(0) var<storage, read> images: array<u32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override WG: u32 = 256;

// A quiet NaN made at run time (a NaN constant would be a shader-creation error).
fn quietNan(payload: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (payload & 0xffu));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let dim = params.dim;
  let total = params.batch * dim;
  for (var e = gid.x; e < total; e += nwg.x * WG) {
    let i = e / dim;
    let j = e - i * dim;
    let image = indices[i];
    if (image >= params.count) {
      out[e] = quietNan(image);
    } else {
      let b = image * dim + j;
      let byte = (images[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
      out[e] = f32(byte) - mean[j];
    }
  }
}
