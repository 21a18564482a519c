// The fused kernels of the hidden layers against the float64 reference (src/reference): affine + batchnorm (+ ReLU)
// forward, the grouped affine backward, the graph batchnorm backward in one dispatch, the matmul's ReLU epilogue (whole
// nets with them: e2e/models/fused-net.spec.ts).
import { test, expect } from '../fixtures.ts';
import { testSeed } from '../seed.ts';

// max|gpu - ref| / max|ref| per output: f32 products and reductions against float64.
const tol = 1e-4;

// [n, k, d, fusion, workgroup size, relu]: ragged rows (37), columns off the quad (53, 131), K tails (53, 131), a k
// the plan leaves to the split-K matmul (300, 3072), every workgroup size a plan could pick (1 lane to 64), and the
// unfused form ('off': the matmul, then batchnorm).
const forwardCases: [number, number, number, 'product' | 'partials' | 'off', number, boolean][] = [
  [37, 53, 131, 'off', 16, true],
  [37, 53, 131, 'product', 16, true],
  [37, 131, 53, 'product', 64, false],
  [7, 100, 100, 'product', 1, true],
  [50, 100, 100, 'product', 16, true],
  [37, 300, 53, 'partials', 16, true],
  [50, 3072, 100, 'partials', 64, false],
  [2, 5, 3, 'product', 4, false],
];

test('affine + batchnorm (+ ReLU) forward, fused: out, xhat, invStd, running statistics and test mode match float64', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(
    async ({ cases, seed }) => {
      const { lib, check } = window;
      const ref = lib.reference;
      const gpu = await window.gpuReady;
      const rng = ref.makeRng(seed);
      const out = [];
      for (const [n, k, d, fusion, workgroupSize, relu] of cases) {
        const scope = lib.createScope(gpu);
        const f32t = (shape: number[], scale = 1) => ref.makeTensor(shape, check.f32(rng.randnTensor(shape, scale).data));
        const x = f32t([n, k]);
        const w = f32t([k, d], 0.2);
        const b = check.f32(rng.randnTensor([d]).data);
        const gamma = check.f32(rng.randnTensor([d]).data);
        const beta = check.f32(rng.randnTensor([d], 0.3).data);
        const bnParam = {
          mode: 'train' as const,
          runningMean: check.f32(rng.randnTensor([d]).data),
          runningVar: check.f32(rng.randnTensor([d]).data.map(Math.abs)),
        };
        const up = (a: ArrayLike<number>, label: string) => window.setup.upload(scope, a, label);
        const nan = (count: number, label: string) => window.setup.poisoned(scope, count, label);
        const rm = up(bnParam.runningMean, 'rm');
        const rv = up(bnParam.runningVar, 'rv');
        const saved = { invStd: nan(d, 'invStd'), xhat: nan(n * d, 'xhat') };
        const bufs = { out: nan(n * d, 'out') };
        const common = {
          ...{ x: up(x.data, 'x'), w: up(w.data, 'w'), b: up(b, 'b'), gamma: up(gamma, 'gamma'), beta: up(beta, 'beta') },
          ...{ runningMean: rm, runningVar: rv, n, k, d, relu, fusion, workgroupSize },
        };
        const train = await lib.createAffineBatchNormForward(scope, { ...common, ...bufs, mode: 'train', saved });
        await lib.runDispatches(gpu, train, 'affine+bn train');
        const pre = ref.affineForward(x, w, ref.makeTensor([d], b)).out;
        const want = ref.forwardBatchNormalization(pre, gamma, beta, bnParam);
        const act = (t: { data: Float64Array }) => (relu ? t.data.map((v) => Math.max(v, 0)) : t.data);
        const read = (buf: GPUBuffer, count: number) => lib.readF32(gpu, buf, count);
        const r = {
          at: `n=${n} k=${k} d=${d} ${fusion} wg=${workgroupSize}${relu ? ' relu' : ''} (${train.map((q) => q.label).join('; ')})`,
          out: check.scaled(await read(bufs.out, n * d), act(want.out)),
          xhat: check.scaled(await read(saved.xhat, n * d), want.cache.xhat.data),
          invStd: check.scaled(await read(saved.invStd, d), want.cache.ivar),
          runningMean: check.scaled(await read(rm, d), bnParam.runningMean),
          runningVar: check.scaled(await read(rv, d), bnParam.runningVar),
          test: 0,
          dispatches: train.length,
        };
        const testOut = nan(n * d, 'test out');
        const testList = await lib.createAffineBatchNormForward(scope, {
          ...common,
          out: testOut,
          mode: 'test',
        });
        await lib.runDispatches(gpu, testList, 'affine+bn test');
        const wantTest = ref.forwardBatchNormalization(pre, gamma, beta, { ...bnParam, mode: 'test' });
        r.test = check.scaled(await read(testOut, n * d), act(wantTest.out));
        out.push(r);
        scope.destroy();
      }
      return out;
    },
    { cases: forwardCases, seed: testSeed(0x5eed22) },
  );
  expect(rows).toHaveLength(forwardCases.length);
  for (const r of rows) {
    for (const key of ['out', 'xhat', 'invStd', 'runningMean', 'runningVar', 'test'] as const)
      expect(r[key], `${key} ${r.at}`).toBeLessThan(tol);
    if (!r.at.includes(' off ')) expect(r.dispatches, r.at).toBe(r.at.includes('partials') ? 2 : 1);
  }
});

// [n, d, m, with dx, relu, workgroup size]: ragged everything, K tails for both products, the first layer (no dx).
const backwardCases: [number, number, number, boolean, boolean, number][] = [
  [37, 53, 131, true, true, 16],
  [37, 131, 53, true, false, 64],
  [7, 13, 5, true, true, 1],
  [50, 100, 10, true, false, 16],
  [50, 3072, 100, false, false, 16],
  [37, 300, 53, false, true, 64],
  [1, 1, 1, true, false, 4],
];

test('affine backward as one grouped dispatch (dx, dW, db; ReLU mask on dout) matches float64, as does the unfused form', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(
    async ({ cases, seed }) => {
      const { lib, check } = window;
      const ref = lib.reference;
      const gpu = await window.gpuReady;
      const rng = ref.makeRng(seed);
      const out = [];
      for (const [n, d, m, withDx, relu, workgroupSize] of cases) {
        const f32t = (shape: number[]) => ref.makeTensor(shape, check.f32(rng.randnTensor(shape).data));
        const [x, w, b, dout] = [f32t([n, d]), f32t([d, m]), f32t([m]), f32t([n, m])];
        const { out: lin, cache } = ref.affineForward(x, w, b);
        // the layer's ReLU'd output, rounded to f32 as the GPU holds it; its sign decides the mask on both sides
        const reluOut = ref.makeTensor([n, m], check.f32(lin.data.map((v) => Math.max(v, 0))));
        const want = ref.affineBackward(relu ? ref.reluBackward(dout, reluOut) : dout, cache);
        for (const grouped of [true, false]) {
          const scope = lib.createScope(gpu);
          const up = (t: { data: ArrayLike<number> }, label: string) => window.setup.upload(scope, t.data, label);
          const nan = (count: number, label: string) => window.setup.poisoned(scope, count, label);
          const bufs = { dx: withDx ? nan(n * d, 'dx') : undefined, dw: nan(d * m, 'dw'), db: nan(m, 'db') };
          const list = await lib.createAffineBackward(scope, {
            ...{ x: up(x, 'x'), w: up(w, 'w'), dout: up(dout, 'dout'), ...bufs, n, d, m, grouped, workgroupSize },
            reluOut: relu ? up(reluOut, 'reluOut') : undefined,
          });
          await lib.runDispatches(gpu, list, 'affine backward');
          const read = (buf: GPUBuffer, count: number) => lib.readF32(gpu, buf, count);
          out.push({
            at: `n=${n} d=${d} m=${m}${withDx ? '' : ' no dx'}${relu ? ' relu' : ''} wg=${workgroupSize} (${list.map((q) => q.label).join('; ')})`,
            grouped,
            dispatches: list.length,
            dx: bufs.dx ? check.scaled(await read(bufs.dx, n * d), want.dx.data) : 0,
            dw: check.scaled(await read(bufs.dw, d * m), want.dw.data),
            db: check.scaled(await read(bufs.db, m), want.db.data),
          });
          scope.destroy();
        }
      }
      return out;
    },
    { cases: backwardCases, seed: testSeed(0xaff1e) },
  );
  expect(rows).toHaveLength(2 * backwardCases.length);
  for (const r of rows) {
    for (const key of ['dx', 'dw', 'db'] as const) expect(r[key], `${key} ${r.at}`).toBeLessThan(tol);
    if (r.grouped) expect(r.dispatches, r.at).toBe(1);
  }
});

test('the graph batchnorm backward in one dispatch writes the graph intermediates and matches float64 (and the per-node form)', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async (seed) => {
    const { lib, check } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(seed);
    const out = [];
    for (const [n, d, relu] of [
      [37, 53, true],
      [50, 100, false],
      [7, 131, true],
      [5, 3, false],
    ] as const) {
      const x = ref.makeTensor([n, d], check.f32(rng.randnTensor([n, d], 1, 2).data));
      const gamma = check.f32(rng.randnTensor([d]).data);
      const beta = check.f32(rng.randnTensor([d], 0.3).data);
      const dout = ref.makeTensor([n, d], check.f32(rng.randnTensor([n, d]).data));
      for (const graphInOne of [true, false]) {
        const scope = lib.createScope(gpu);
        const up = (a: ArrayLike<number>, label: string) => window.setup.upload(scope, a, label);
        const nan = (count: number, label: string) => window.setup.poisoned(scope, count, label);
        const saved = { mean: nan(d, 'mean'), invStd: nan(d, 'invStd'), xhat: nan(n * d, 'xhat') };
        const [xb, gb, ob] = [up(x.data, 'x'), up(gamma, 'gamma'), nan(n * d, 'out')];
        const fwd = await lib.createBatchNormForward(scope, {
          ...{ x: xb, gamma: gb, beta: up(beta, 'beta'), out: ob, n, d, mode: 'train', saved, relu },
          ...{ runningMean: up(new Float32Array(d), 'rm'), runningVar: up(new Float32Array(d), 'rv') },
        });
        const bufs = { dx: nan(n * d, 'dx'), dgamma: nan(d, 'dgamma'), dbeta: nan(d, 'dbeta') };
        const bwd = await lib.createBatchNormBackward(scope, {
          ...{ dout: up(dout.data, 'dout'), xhat: saved.xhat, invStd: saved.invStd, gamma: gb, ...bufs, n, d },
          ...{ variant: 'graph', x: xb, mean: saved.mean, reluOut: relu ? ob : undefined, graphInOne },
        });
        await lib.runDispatches(gpu, [...fwd, ...bwd], 'bn graph backward');
        const { out: bnOut, cache } = ref.forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
        const want = ref.backwardBatchNormalization(relu ? ref.reluBackward(dout, bnOut) : dout, cache);
        const read = (buf: GPUBuffer, count: number) => lib.readF32(gpu, buf, count);
        out.push({
          at: `n=${n} d=${d}${relu ? ' relu' : ''} (${bwd.map((q) => q.label).join('; ')})`,
          graphInOne,
          dispatches: bwd.length,
          dx: check.scaled(await read(bufs.dx, n * d), want.dx.data),
          dgamma: check.scaled(await read(bufs.dgamma, d), want.dgamma),
          dbeta: check.scaled(await read(bufs.dbeta, d), want.dbeta),
        });
        scope.destroy();
      }
    }
    return out;
  }, testSeed(0x6a9b));
  expect(rows).toHaveLength(8);
  for (const r of rows) {
    for (const key of ['dx', 'dgamma', 'dbeta'] as const) expect(r[key], `${key} ${r.at}`).toBeLessThan(tol);
    expect(r.dispatches, r.at).toBe(r.graphInOne ? 1 : 5);
  }
});

test('the matmul ReLU epilogue (no-batchnorm hidden layers): every variant, split-K or not, gives max(0, A·B + b) of float64', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async (seed) => {
    const { lib, check } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(seed);
    const quads = await lib.subgroupQuads(gpu);
    const rows = [];
    // [m, n, k]: ragged (block8 only) and vec4-aligned (every variant)
    for (const [m, n, k] of [
      [37, 53, 131],
      [48, 64, 100],
    ] as const) {
      const a = check.f32(rng.randnTensor([m * k]).data);
      const b = check.f32(rng.randnTensor([k * n]).data);
      const bias = check.f32(rng.randnTensor([n]).data);
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = bias[j]!;
          for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * n + j]!;
          want[i * n + j] = Math.max(s, 0);
        }
      for (const variant of ['block8', 'block8vec4', 'vec4', 'block8sg'] as const) {
        if (variant === 'block8sg' && !quads) continue;
        if (variant !== 'block8' && k % 4 !== 0) continue;
        for (const splits of [1, 3]) {
          const scope = lib.createScope(gpu);
          const c = window.setup.poisoned(scope, m * n, 'c');
          const up = (x: Float64Array, label: string) => window.setup.upload(scope, x, label);
          const list = await lib.createMatmul(scope, {
            a: up(a, 'a'),
            b: up(b, 'b'),
            c,
            bias: up(bias, 'bias'),
            m,
            n,
            k,
            variant,
            splits,
            relu: true,
          });
          await lib.runDispatches(gpu, list, 'matmul relu');
          const got = await lib.readF32(gpu, c, m * n);
          rows.push({
            at: `${m}x${n}x${k} ${list.map((q) => q.label).join('; ')}`,
            err: check.scaled(got, want),
            zeros: got.filter((v) => v === 0).length / (m * n),
          });
          scope.destroy();
        }
      }
    }
    return { rows, quads };
  }, testSeed(0x4e1));
  expect(r.rows.length).toBe(2 + 2 * (r.quads ? 4 : 3));
  for (const x of r.rows) {
    expect(x.err, x.at).toBeLessThan(tol);
    expect(x.zeros, `${x.at}: about half the outputs are clamped`).toBeGreaterThan(0.3);
    expect(x.at, 'the label names the epilogue').toContain('+relu');
  }
});
