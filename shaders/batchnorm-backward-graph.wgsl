// Batch normalization backward, the staged computational graph of the seed (cs231n batchnorm_backward, after
// F. Kratzert's "Understanding the backward pass through Batch Normalization Layer", 2016): one kernel per node group,
// each intermediate (dxhat, divar, dx1, sum dx1) written to a buffer and read back by the next node. Its dbeta/dgamma node
// is batchnorm-backward.wgsl's column sums; this file is linked behind it (its bindings, Params, overrides and helpers).
// Big batches: the `*Node` kernels (elementwise passes, and reductions over COLS x ROWS tiles of a row chunk, added up
// by `combine`). Small batches (one chunk): the `*Columns` kernels, each invocation owning 4 columns over every row.
// xmu = x - mean comes from x and the batch mean (USE_X), else from xhat / invStd (x bound to xhat).

// x - mean at element i of column j.
fn xmu(i: u32, j: u32) -> f32 {
  if (USE_X) { return x[i] - mean[j]; }
  return x[i] / invStd[j];
}

// Graph node dxhat, elementwise: dxhat = dout * gamma.
@compute @workgroup_size(WG)
fn dxhatNode(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    dxhat[i] = dout1(i) * gamma[i % params.d];
  }
}

// Graph node dvar (its reduction): partA = divar = sum dxhat * xmu; dvar = -0.5 divar invStd^3 is taken by dmuNode.
@compute @workgroup_size(COLS, ROWS)
fn dvarNode(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let rr = chunkRange(wid);
  var acc = 0.0;
  if (col < d) {
    for (var r = rr.x + lid.y; r < rr.y; r += ROWS) {
      let i = r * d + col;
      acc += dxhat[i] * xmu(i, col);
    }
  }
  let s = rowSum(vec2f(acc, 0.0), lid);
  if (lid.y == 0u && col < d) { partA[wid.y * d + col] = s.x; }
}

// Graph node dmu: dx1 = dxhat * invStd + 2 xmu dvar / N (the two paths into xmu), stored; partA = sum dx1.
// sumA holds divar; dvar = 0.5 invStd * (-divar invStd^2), the chain through sqrtvar and ivar.
@compute @workgroup_size(COLS, ROWS)
fn dmuNode(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = params.d;
  let col = wid.x * COLS + lid.x;
  let rr = chunkRange(wid);
  var acc = 0.0;
  if (col < d) {
    let is = invStd[col];
    let dsqrtvar = -sumA[col] * is * is;
    let dvar = 0.5 * is * dsqrtvar;
    let dsq = dvar / f32(params.n);
    for (var r = rr.x + lid.y; r < rr.y; r += ROWS) {
      let i = r * d + col;
      let g = dxhat[i] * is + 2.0 * xmu(i, col) * dsq;
      dx1[i] = g;
      acc += g;
    }
  }
  let s = rowSum(vec2f(acc, 0.0), lid);
  if (lid.y == 0u && col < d) { partA[wid.y * d + col] = s.x; }
}

// Graph node dx, elementwise: dx = dx1 + dmu / N with dmu = -sum dx1 (sumA).
@compute @workgroup_size(WG)
fn dxNode(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = params.n * params.d;
  let invN = 1.0 / f32(params.n);
  for (var i = gid.x; i < total; i += nwg.x * WG) {
    dx[i] = dx1[i] - sumA[i % params.d] * invN;
  }
}

// xmu at elements i, from the columns' `centre` (xmuCentre): x - mean (USE_X), else xhat / invStd.
fn xmu4(i: vec4u, centre: vec4f) -> vec4f {
  if (USE_X) { return load4(&x, i) - centre; }
  return load4(&x, i) / centre;
}

// The per-column value xmu4 takes: the batch mean (USE_X) or invStd.
fn xmuCentre(c: vec4u) -> vec4f {
  if (USE_X) { return load4(&mean, c); }
  return load4(&invStd, c);
}

// Graph node dxhat, one chunk: dxhat = dout * gamma.
@compute @workgroup_size(WG)
fn dxhatColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let g = load4(&gamma, c);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    store4(&dxhat, i, dout4(i) * g);
  }
}

// Graph node dvar (its reduction), one chunk: partA = divar = sum dxhat * xmu (as dvarNode).
@compute @workgroup_size(WG)
fn dvarColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let centre = xmuCentre(c);
  var acc = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    acc += load4rw(&dxhat, i) * xmu4(i, centre);
  }
  store4(&partA, c, acc);
}

// Graph node dmu, one chunk: dx1 = dxhat * invStd + 2 xmu dvar / N, stored; partA = sum dx1 (as dmuNode).
@compute @workgroup_size(WG)
fn dmuColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let centre = xmuCentre(c);
  let is = load4(&invStd, c);
  let dsqrtvar = -load4(&sumA, c) * is * is;
  let dvar = 0.5 * is * dsqrtvar;
  let dsq = dvar / f32(params.n);
  var acc = vec4f(0.0);
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    let g = load4rw(&dxhat, i) * is + 2.0 * xmu4(i, centre) * dsq;
    store4(&dx1, i, g);
    acc += g;
  }
  store4(&partA, c, acc);
}

// Graph node dx, one chunk: dx = dx1 + dmu / N with dmu = -sum dx1 (sumA).
@compute @workgroup_size(WG)
fn dxColumns(@builtin(global_invocation_id) gid: vec3u) {
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let dmu = load4(&sumA, c) * (1.0 / f32(params.n));
  for (var r = 0u; r < params.n; r++) {
    let i = r * d + c;
    store4(&dx, i, load4rw(&dx1, i) - dmu);
  }
}
