// Batchnorm backward, the staged graph of the seed (cs231n batchnorm_backward; see batchnorm-backward.wgsl) in one
// dispatch for a one-chunk batch. Linked behind shaders/batchnorm-backward.wgsl (its bindings, Params, WG, RELU, dout4)
// and shaders/lib/columns.wgsl (quadColumns, load4, load4rw, store4) by src/ops/norm-columns.ts.

// `graphColumns` only: the graph's intermediates in one binding (9 storage bindings in all, within the 10 browsers
// commonly allow): dxhat [n, d], dx1 [n, d], divar [d], sum dx1 [d], in that order.
@group(0) @binding(15) var<storage, read_write> scratch: array<f32>;

// The staged graph in one dispatch, one chunk: each invocation owns 4 columns over every row, so it runs the nodes of
// sumsColumns, dxhatColumns, dvarColumns, dmuColumns and dxColumns in that order for them, writing every intermediate
// (dxhat, divar, dx1, sum dx1 in `scratch`) and reading it back as the next node does: the graph's traffic, one launch.
// xmu is xhat / invStd here (not x - mean: two bindings fewer).
@compute @workgroup_size(WG)
fn graphColumns(@builtin(global_invocation_id) gid: vec3u) {
  let n = params.n;
  let d = params.d;
  if (4u * gid.x >= d) { return; }
  let c = quadColumns(gid.x, d);
  let nd = n * d;
  // dbeta = sum dout, dgamma = sum dout * xhat
  var sa = vec4f(0.0);
  var sb = vec4f(0.0);
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    let g = dout4(i);
    sa += g;
    sb += g * load4(&xhat, i);
  }
  store4(&partA, c, sa);
  store4(&partB, c, sb);
  // dxhat = dout * gamma
  let gm = load4(&gamma, c);
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    store4(&scratch, i, dout4(i) * gm);
  }
  // divar = sum dxhat * xmu
  let is = load4(&invStd, c);
  var dv = vec4f(0.0);
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    dv += load4rw(&scratch, i) * (load4(&xhat, i) / is);
  }
  store4(&scratch, 2u * nd + c, dv);
  // dx1 = dxhat * invStd + 2 xmu dvar / N, and its sum (= -dmu)
  let dsqrtvar = -load4rw(&scratch, 2u * nd + c) * is * is;
  let dsq = 0.5 * is * dsqrtvar / f32(n);
  var s1 = vec4f(0.0);
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    let g = load4rw(&scratch, i) * is + 2.0 * (load4(&xhat, i) / is) * dsq;
    store4(&scratch, nd + i, g);
    s1 += g;
  }
  store4(&scratch, 2u * nd + d + c, s1);
  // dx = dx1 + dmu / N
  let dmu = load4rw(&scratch, 2u * nd + d + c) * (1.0 / f32(n));
  for (var r = 0u; r < n; r++) {
    let i = r * d + c;
    store4(&dx, i, load4rw(&scratch, nd + i) - dmu);
  }
}
