// The GPU FullyConnectedNeuralNet against the float64 reference: gradients, a 20-step loss curve, allocation counts.
import { test, expect } from '../fixtures.ts';

// Element-wise bound on each gradient element: rtol relative to the element, atol relative to the tensor's largest
// element, and an absolute floor for the gradients that are exactly 0 in float64 (a bias right before batchnorm).
const elementTolerance: [number, number, number] = [1e-4, 1e-6, 1e-7];

test('every parameter gradient matches the float64 reference (batchnorm, layernorm, none; both backward variants; reg 0 and 3.14; ReLU and GELU)', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async ([elementRtol, elementAtol, zeroAtol]) => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const out: { config: string; name: string; err: number; lossErr: number; elem: number; at: number; got: number; want: number }[] = [];
    const cases: {
      useBatchnorm?: boolean;
      normalization?: 'layernorm';
      backwardVariant: 'graph' | 'alternative';
      reg: number;
      activation?: 'gelu';
    }[] = [
      { useBatchnorm: true, backwardVariant: 'graph', reg: 3.14, activation: 'gelu' },
      { normalization: 'layernorm', backwardVariant: 'graph', reg: 0, activation: 'gelu' },
      { useBatchnorm: false, backwardVariant: 'graph', reg: 3.14, activation: 'gelu' },
      { normalization: 'layernorm', backwardVariant: 'graph', reg: 0 },
      { normalization: 'layernorm', backwardVariant: 'graph', reg: 3.14 },
      { useBatchnorm: false, backwardVariant: 'graph' as const, reg: 0 },
      { useBatchnorm: true, backwardVariant: 'graph' as const, reg: 0 },
      { useBatchnorm: true, backwardVariant: 'alternative' as const, reg: 3.14 },
      { useBatchnorm: false, backwardVariant: 'graph' as const, reg: 3.14 },
    ];
    for (const c of cases) {
      const opts = { inputDim: 15, numClasses: 10, weightScale: 5e-2, seed: 4, ...c };
      const N = 7;
      const rng = reference.makeRng(11);
      const X = rng.randnTensor([N, 15]);
      const y = Array.from({ length: N }, () => rng.randint(10));
      const ref = new reference.FullyConnectedNeuralNet([20, 30], opts);
      const net = await lib.FullyConnectedNeuralNet.create(gpu, [20, 30], opts);
      const want = ref.loss(X, y);
      const got = await net.loss(X, y);
      for (const [name, g] of Object.entries(want.grads)) {
        const a = got.grads[name]!;
        // (absolute where the gradient is exactly zero: a bias right before batchnorm)
        const err = window.check.normRel(a, g.data);
        // element by element: |a_i - g_i| <= atol + rtol |g_i|, atol a small part of the tensor's largest (f32 sums of
        // terms of that size), floored for the exactly-zero gradients; the worst element's ratio to its bound, and where
        const scale = g.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const atol = Math.max(elementAtol * scale, zeroAtol);
        let elem = 0;
        let at = 0;
        for (let i = 0; i < a.length; i++) {
          const e = Math.abs(a[i]! - g.data[i]!) / (atol + elementRtol * Math.abs(g.data[i]!));
          if (!(e <= elem)) [elem, at] = [Number.isNaN(e) ? Infinity : e, i];
        }
        out.push({
          config: JSON.stringify(c),
          name,
          err,
          lossErr: Math.abs(got.loss - want.loss) / want.loss,
          elem,
          at,
          got: a[at]!,
          want: g.data[at]!,
        });
      }
      await net.destroy();
    }
    return out;
  }, elementTolerance);
  expect(rows.length).toBeGreaterThan(40);
  expect(rows.filter((r) => r.config.includes('layernorm')).map((r) => r.name)).toContain('gamma2');
  expect(rows.filter((r) => r.config.includes('gelu')).length).toBe(3 * 6 + 2 * 4); // W, b of 3 layers; gamma, beta of 2
  for (const r of rows) {
    // norm ratio ‖gpu − ref‖ / ‖ref‖ (f32 kernels vs f64), or ‖gpu‖ where the true gradient is 0
    expect(r.err, `${r.config} ${r.name}`).toBeLessThan(1e-4);
    expect(r.lossErr, `${r.config} loss`).toBeLessThan(1e-5);
    // and no element hidden by the norm: each within atol + rtol |ref|
    expect(r.elem, `${r.config} ${r.name}[${r.at}]: gpu ${r.got}, f64 ${r.want}`).toBeLessThanOrEqual(1);
  }
  const worst = rows.reduce((w, r) => (r.elem > w.elem ? r : w));
  console.log(
    `worst element: ${worst.config} ${worst.name}[${worst.at}] ${worst.elem.toFixed(3)} of its bound (gpu ${worst.got}, f64 ${worst.want})`,
  );
});

for (const normalization of ['batchnorm', 'layernorm'] as const)
  test(`20 Adam steps on the GPU follow the reference loss curve on the same minibatches (${normalization})`, async ({ harness }) => {
    const r = await harness.page.evaluate(async (normalization) => {
      const { lib } = window;
      const gpu = await window.gpuReady;
      const { reference } = lib;
      const D = 24;
      // validation as many rows as training (a plan keyed by shape alone would mix the splits up)
      const data = window.setup.quadrants(reference.makeRng(5), 64, D, 64);
      const netOpts = { inputDim: D, numClasses: 4, normalization, weightScale: 0.1, seed: 2 };
      // lrDecay: the decayed rate must reach the GPU exactly at the epoch end, as in the reference
      const solverOpts = {
        updateRule: 'adam',
        optimConfig: { learningRate: 5e-3 },
        lrDecay: 0.5,
        batchSize: 16,
        numEpochs: 5,
        seed: 8,
        verbose: false,
        numTrainSamples: null,
      };
      const cpu = new lib.Solver(lib.createReferenceTrainer(new reference.FullyConnectedNeuralNet([32, 16], netOpts)), data, solverOpts);
      await cpu.train();
      const net = await lib.FullyConnectedNeuralNet.create(gpu, [32, 16], netOpts);
      const gpuSolver = new lib.Solver(net, data, solverOpts);
      const result = await gpuSolver.train();
      await net.destroy();
      return {
        cpu: cpu.lossHistory,
        gpu: gpuSolver.lossHistory,
        status: result.status,
        cpuVal: cpu.valAccHistory,
        gpuVal: gpuSolver.valAccHistory,
        gpuTrain: gpuSolver.trainAccHistory,
      };
    }, normalization);
    expect(r.status).toBe('completed');
    expect(r.gpu).toHaveLength(20);
    expect(r.cpu).toHaveLength(20);
    r.gpu.forEach((l, i) => expect(Math.abs(l - r.cpu[i]!) / r.cpu[i]!, `step ${i + 1}`).toBeLessThan(1e-3));
    expect(r.gpu[19]!).toBeLessThan(r.gpu[0]!);
    // Accuracy on 64 validation rows may differ by a row or two: the bias in front of each batchnorm has a true
    // gradient of exactly 0, f32 rounding leaves ~1e-8 there, and Adam (eps 1e-8) turns that into steps of ~lr.
    expect(r.gpuVal).toHaveLength(r.cpuVal.length);
    r.gpuVal.forEach((a, i) => expect(Math.abs(a - r.cpuVal[i]!), `val check ${i}`).toBeLessThanOrEqual(2 / 64 + 1e-12));
    expect(r.gpuVal).not.toEqual(r.gpuTrain);
  });

test('steady-state steps create no buffers, bind groups or pipelines; 40 models leave no live buffers', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const rng = reference.makeRng(1);
    const X = rng.randnTensor([40, 12]);
    const y = Array.from({ length: 40 }, (_, i) => i % 5);
    const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
    const live0 = gpu.stats.buffersLive;
    const net = await lib.FullyConnectedNeuralNet.create(gpu, [16, 16], { inputDim: 12, numClasses: 5, useBatchnorm: true });
    await net.attachData(data);
    await net.setUpdateRule('adam', { learningRate: 1e-3 });
    const idx = () => Uint32Array.from({ length: 8 }, () => rng.randint(40));
    await net.step(idx());
    await net.step(idx());
    const before = { ...gpu.stats };
    const losses = await Promise.all(Array.from({ length: 10 }, () => net.step(idx())));
    const after = { ...gpu.stats };
    await net.destroy();
    for (let i = 0; i < 40; i++) {
      const m = await lib.FullyConnectedNeuralNet.create(gpu, [8], { inputDim: 12, numClasses: 5, useBatchnorm: i % 2 === 0 });
      await m.attachData(data);
      await m.setUpdateRule('sgd', {});
      await m.step(idx());
      await m.accuracy(
        'val',
        Uint32Array.from({ length: 40 }, (_, k) => k),
      );
      await m.destroy();
    }
    return { before, after, losses, live0, liveEnd: gpu.stats.buffersLive };
  });
  expect(r.losses.every(Number.isFinite)).toBe(true);
  expect(r.after.buffersCreated).toBe(r.before.buffersCreated);
  expect(r.after.bindGroupsCreated).toBe(r.before.bindGroupsCreated);
  expect(r.after.pipelinesCreated).toBe(r.before.pipelinesCreated);
  expect(r.after.submits - r.before.submits).toBe(10); // one submit per step
  expect(r.liveEnd).toBe(r.live0);
});

test('parameters round-trip through safetensors, and scores use batchnorm in test mode', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const opts = { inputDim: 9, numClasses: 4, useBatchnorm: true, seed: 6, weightScale: 0.3 };
    const a = await lib.FullyConnectedNeuralNet.create(gpu, [7], opts);
    const ref = new reference.FullyConnectedNeuralNet([7], opts);
    const rng = reference.makeRng(2);
    for (let i = 0; i < 3; i++) {
      // train-mode passes move the running statistics on both sides
      const X = rng.randnTensor([10, 9], 2, 1);
      const y = Array.from({ length: 10 }, () => rng.randint(4));
      ref.loss(X, y);
      await a.loss(X, y);
    }
    const Xt = rng.randnTensor([5, 9]);
    const want = ref.scores(Xt).data;
    const got = await a.loss(Xt);
    const bytes = await a.saveSafetensors();
    const b = await lib.FullyConnectedNeuralNet.create(gpu, [7], { ...opts, seed: 99 });
    b.loadSafetensors(bytes);
    const got2 = await b.loss(Xt);
    await a.destroy();
    await b.destroy();
    let maxDiff = 0;
    let maxRef = 0;
    want.forEach((w, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(got[i]! - w));
      maxRef = Math.max(maxRef, Math.abs(w));
    });
    return { err: maxDiff / maxRef, same: Array.from(got).every((v, i) => v === got2[i]), n: got.length };
  });
  expect(r.n).toBe(20);
  expect(r.err).toBeLessThan(1e-4); // max|gpu − ref| / max|ref|
  expect(r.same).toBe(true);
});

test('setParams and loadSafetensors check everything before writing: a bad entry or a missing tensor leaves the model as it was; partial loads what the file has', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const opts = { inputDim: 5, numClasses: 3, useBatchnorm: true, seed: 4, weightScale: 0.5 };
    const net = await lib.FullyConnectedNeuralNet.create(gpu, [4], opts);
    const before = await net.getParams();
    const W1 = Float32Array.from({ length: 20 }, (_, i) => i + 1);
    const errors: string[] = [];
    const attempt = (f: () => void) => {
      try {
        f();
        errors.push('(no error)');
      } catch (e) {
        errors.push((e as Error).message);
      }
    };
    attempt(() => net.setParams({ W1: { data: W1, shape: [5, 4] }, b1: { data: [1, 2, 3] } }));
    // a file with the weights but not the running statistics
    const { runningMean1, runningVar1, ...weights } = before;
    const moved = { ...weights, W1: { data: W1, shape: [5, 4] } };
    const weightsOnly = lib.encodeSafetensors(moved);
    attempt(() => net.loadSafetensors(weightsOnly));
    const unchanged = await net.getParams();
    net.loadSafetensors(weightsOnly, { partial: true });
    const loaded = await net.getParams();
    await net.destroy();
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
    return {
      errors,
      unchanged: Object.keys(before).every((n) => same(before[n]!.data, unchanged[n]!.data)),
      loadedW1: same(loaded.W1!.data, W1),
      keptStats: same(loaded.runningMean1!.data, runningMean1!.data) && same(loaded.runningVar1!.data, runningVar1!.data),
    };
  });
  expect(r.errors[0]).toBe('setParams: b1 has 3 values, expected 4 (shape [4])');
  expect(r.errors[1]).toContain('loadSafetensors: the file lacks runningMean1, runningVar1');
  expect(r.unchanged).toBe(true);
  expect(r.loadedW1).toBe(true);
  expect(r.keptStats).toBe(true);
});
