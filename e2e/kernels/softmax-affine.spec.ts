// The classifier's head fused with its loss (scores = h·W + b, softmax loss, dscores in one launch) vs the float64 reference; the freeze in the loss launch.
import { test, expect } from '../fixtures.ts';

// Thresholds: scores are dot products of length d summed in f32, so the error is taken relative to the operands,
// |got - want| / (Σ_k |h_ik w_kj| + |b_j|) < 1e-5; the loss (a mean over rows) relError < 1e-4; dscores elementwise
// relError < 1e-5 (as the plain softmax loss: the scores' rounding moves the probabilities by about as much).
// Ragged shapes (n = 37, c = 7 or 10, d = 53), one row and one class, more rows than invocations; a population's
// column blocks and its shared rows; the workgroup sizes a CPU adapter (64) and a GPU (256) pick, and 32, forced.
test('affine + softmax loss: scores, loss, dscores vs the reference at ragged shapes, populations, forced workgroup sizes', async ({
  harness,
}) => {
  const results = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(17);
    const cases: [number, number, number, number, boolean, number | undefined][] = [
      [37, 7, 53, 1, false, undefined],
      [37, 10, 53, 1, false, 64],
      [50, 10, 100, 1, false, 256],
      [1, 1, 3, 1, false, undefined],
      [300, 7, 9, 1, false, 32],
      [37, 7, 53, 3, false, 256],
      [13, 10, 53, 3, true, 64],
    ];
    const out: Record<string, number | string>[] = [];
    for (const [n, c, d, models, shared, workgroupSize] of cases) {
      const scope = lib.createScope(gpu);
      const ldh = shared ? d : models * d;
      const h = Float32Array.from(rng.randnTensor([n, ldh]).data);
      const w = Float32Array.from(rng.randnTensor([models, d, c], 0.3).data);
      const b = Float32Array.from(rng.randnTensor([models * c], 0.5).data);
      const y = Uint32Array.from({ length: n }, () => rng.randint(c));
      const lossStride = 2;
      const loss = scope.createTensorBuffer(new Float32Array(models * lossStride).fill(5), 'loss');
      const scores = window.setup.poisoned(scope, n * models * c, 'scores');
      const dscores = window.setup.poisoned(scope, n * models * c, 'dscores');
      const list = await lib.createAffineSoftmaxLoss(scope, {
        h: window.setup.upload(scope, h, 'h'),
        w: window.setup.upload(scope, w, 'w'),
        b: window.setup.upload(scope, b, 'b'),
        y: scope.createTensorBuffer(y, 'y'),
        scores,
        dscores,
        loss,
        lossIndex: 0,
        lossStride,
        n,
        c,
        d,
        models,
        shared,
        workgroupSize,
      });
      await lib.runDispatches(gpu, list, 'affine+softmax');
      const gotScores = await lib.readF32(gpu, scores, n * models * c);
      const gotD = await lib.readF32(gpu, dscores, n * models * c);
      const gotLoss = await lib.readF32(gpu, loss, models * lossStride);
      let worstScores = 0;
      let worstLoss = 0;
      let worstD = 0;
      let others = 0;
      for (let k = 0; k < models; k++) {
        // model k alone, in float64
        const hk = ref.makeTensor(
          [n, d],
          Float64Array.from({ length: n * d }, (_, e) => h[Math.floor(e / d) * ldh + (shared ? 0 : k * d) + (e % d)]!),
        );
        const wk = ref.makeTensor([d, c], Float64Array.from(w.subarray(k * d * c, (k + 1) * d * c)));
        const bk = ref.makeTensor([c], Float64Array.from(b.subarray(k * c, (k + 1) * c)));
        const want = ref.affineForward(hk, wk, bk).out;
        const sm = ref.softmaxLoss(want, y);
        const pick = (a: Float32Array) =>
          Float64Array.from({ length: n * c }, (_, e) => a[(Math.floor(e / c) * models + k) * c + (e % c)]!);
        const mag = (e: number) => {
          const [i, j] = [Math.floor(e / c), e % c];
          let s = Math.abs(bk.data[j]!);
          for (let q = 0; q < d; q++) s += Math.abs(hk.data[i * d + q]! * wk.data[q * c + j]!);
          return s;
        };
        worstScores = Math.max(worstScores, window.check.bounded(pick(gotScores), want.data, mag));
        worstD = Math.max(worstD, ref.relError(pick(gotD), sm.dx.data));
        worstLoss = Math.max(worstLoss, ref.relError(gotLoss[k * lossStride]!, sm.loss));
        if (gotLoss[k * lossStride + 1] !== 5) others++;
      }
      out.push({
        at: `n=${n} c=${c} d=${d} models=${models}${shared ? ' shared' : ''} wg=${workgroupSize ?? 'default'}`,
        scores: worstScores,
        loss: worstLoss,
        dscores: worstD,
        others,
        dispatches: list.length,
        label: list[0]!.label,
      });
      scope.destroy();
    }
    return out;
  });
  for (const r of results) {
    expect(r.scores, `scores ${r.at}`).toBeLessThan(1e-5);
    expect(r.loss, `loss ${r.at}`).toBeLessThan(1e-4);
    expect(r.dscores, `dscores ${r.at}`).toBeLessThan(1e-5);
    expect(r.others, `other loss slots untouched ${r.at}`).toBe(0);
    expect(r.dispatches, `one launch ${r.at}`).toBe(1);
  }
  expect(results.find((r) => r.at === 'n=50 c=10 d=100 models=1 wg=256')!.label).toContain('wg=256');
  console.log(
    `affine+softmax: worst scores ${Math.max(...results.map((r) => r.scores as number)).toExponential(2)}, loss ${Math.max(...results.map((r) => r.loss as number)).toExponential(2)}, dscores ${Math.max(...results.map((r) => r.dscores as number)).toExponential(2)}`,
  );
});

test('the freeze in the loss launch (fused and plain): a model whose slots hold an infinity, or sum to one, is frozen; the others not', async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(18);
    const [n, c, d, models, lossStride] = [9, 4, 5, 4, 3];
    const out: { fused?: number[]; plain?: number[]; fusedLossFinite?: number[]; plainLossFinite?: number[] } = {};
    for (const fused of [true, false]) {
      const scope = lib.createScope(gpu);
      // model k's L2 slots (written before the loss by the L2 launch): 0 finite, 1 an infinity, 2 finite but summing to one, 3 finite
      const slots = [0, 0.5, 0.25, 0, Infinity, 1, 0, 3e38, 3e38, 0, 1, 2];
      const loss = scope.createTensorBuffer(Float32Array.from(slots), 'loss');
      const alive = scope.createTensorBuffer(Uint32Array.of(1, 1, 1, 0), 'alive'); // model 3 was frozen before and stays so
      const common = {
        y: scope.createTensorBuffer(
          Uint32Array.from({ length: n }, () => rng.randint(c)),
          'y',
        ),
        scores: scope.createTensorBuffer(Float32Array.from(rng.randnTensor([n, models * c]).data), 'scores'),
        dscores: scope.createTensorBuffer(n * models * c * 4, 'dscores'),
        loss,
        lossStride,
        n,
        c,
        models,
        alive,
      };
      const list = fused
        ? await lib.createAffineSoftmaxLoss(scope, {
            ...common,
            h: window.setup.upload(scope, rng.randnTensor([n, models * d]).data, 'h'),
            w: window.setup.upload(scope, rng.randnTensor([models, d, c]).data, 'w'),
            b: window.setup.upload(scope, rng.randnTensor([models * c]).data, 'b'),
            d,
          })
        : await lib.createSoftmaxLoss(scope, common);
      await lib.runDispatches(gpu, list, 'freeze');
      out[fused ? 'fused' : 'plain'] = Array.from(new Uint32Array(await lib.readBuffer(gpu, alive, 16)));
      const l = await lib.readF32(gpu, loss, models * lossStride);
      out[fused ? 'fusedLossFinite' : 'plainLossFinite'] = Array.from({ length: models }, (_, k) =>
        Number.isFinite(l[k * lossStride]!) ? 1 : 0,
      );
      scope.destroy();
    }
    const scope = lib.createScope(gpu);
    const b = scope.createTensorBuffer(64, 'b');
    const badIndex = await lib.createSoftmaxLoss(scope, { scores: b, y: b, dscores: b, loss: b, lossIndex: 1, n: 1, c: 1, alive: b }).then(
      () => '',
      (e: Error) => e.message,
    );
    scope.destroy();
    return { ...out, badIndex };
  });
  expect(r.fused).toEqual([1, 0, 0, 0]);
  expect(r.plain).toEqual([1, 0, 0, 0]);
  expect(r.fusedLossFinite).toEqual([1, 1, 1, 1]);
  expect(r.plainLossFinite).toEqual([1, 1, 1, 1]);
  expect(r.badIndex).toContain('lossIndex must be 0');
});
