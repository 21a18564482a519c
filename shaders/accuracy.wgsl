// Argmax accuracy (cs231n Solver.check_accuracy: np.argmax(scores, axis=1) == y): one invocation per row,
// ties go to the first maximum as numpy's argmax; each workgroup adds its hit count to
// correct[correctIndex] with one atomicAdd (the caller zeroes the counter). A population's scores are
// [n, models·c]: the y grid dimension is the model k, whose classes are columns k·c..k·c+c-1 and whose
// count goes to correct[correctIndex + k].

struct Params {
  n: u32,
  c: u32,
  correctIndex: u32,
  models: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<u32>;
@group(0) @binding(2) var<storage, read_write> correct: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 256;

var<workgroup> hits: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(num_workgroups) nwg: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let model = wid.y;
  var mine = 0u;
  for (var i = gid.x; i < params.n; i += nwg.x * WG) {
    let row = (i * params.models + model) * params.c;
    var best = scores[row];
    var arg = 0u;
    for (var j = 1u; j < params.c; j++) {
      let v = scores[row + j];
      if (v > best) { best = v; arg = j; }
    }
    if (arg == y[i]) { mine += 1u; }
  }
  if (mine > 0u) { atomicAdd(&hits, mine); }
  workgroupBarrier();
  if (lid.x == 0u) {
    let total = atomicLoad(&hits);
    if (total > 0u) { atomicAdd(&correct[params.correctIndex + model], total); }
  }
}
