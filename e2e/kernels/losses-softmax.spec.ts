// The classifier's loss-side kernels in headless Chromium vs the float64 reference: the softmax loss and its gradient,
// the accuracy count. (L2 terms: losses-l2.spec.ts.)
import { testOnOnePage as test, expect } from '../fixtures.ts';

// Thresholds (seed's relError = max|a - b| / max(1e-8, |a| + |b|)):
//   softmax dscores: elementwise relError < 1e-5; the loss (a mean over rows) relError < 1e-4.
//   accuracy: exact.

test('softmax loss and gradient vs the reference (incl. large scores, c = 1, bad label -> NaN)', async ({ harness }) => {
  const results = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(11);
    const cases: [number, number, number][] = [
      [1, 10, 0],
      [2, 1, 0],
      [7, 3, 0],
      [50, 10, 0],
      [257, 10, 1000],
      [300, 101, -50],
      [1000, 10, 0],
    ];
    const out: Record<string, number>[] = [];
    for (const [n, c, shift] of cases) {
      const scope = lib.createScope(gpu);
      const scores = ref.makeTensor([n, c], Float32Array.from(rng.randnTensor([n, c], 3, shift).data));
      const y = Array.from({ length: n }, () => rng.randint(c));
      const want = ref.softmaxLoss(scores, y);
      const sb = scope.createTensorBuffer(Float32Array.from(scores.data), 'scores');
      const yb = scope.createTensorBuffer(Uint32Array.from(y), 'y');
      const loss = scope.createTensorBuffer(Float32Array.of(7, 8, NaN), 'loss');
      const dscores = window.setup.poisoned(scope, n * c, 'dscores');
      await lib.runDispatches(gpu, await lib.createSoftmaxLoss(scope, { scores: sb, y: yb, loss, lossIndex: 2, dscores, n, c }), 'softmax');
      const l = await lib.readF32(gpu, loss, 3);
      out.push({
        n,
        c,
        shift,
        loss: ref.relError(l[2]!, want.loss),
        others: l[0] === 7 && l[1] === 8 ? 0 : 1,
        dscores: ref.relError(await lib.readF32(gpu, dscores, n * c), want.dx.data),
      });
      scope.destroy();
    }
    // Host form, and an out-of-range label on the device form.
    const scores = ref.makeTensor([4, 5], Float32Array.from(rng.randnTensor([4, 5]).data));
    const host = await lib.softmaxLoss(gpu, scores, [0, 4, 2, 1]);
    const want = ref.softmaxLoss(scores, [0, 4, 2, 1]);
    let hostBadLabel = '';
    try {
      await lib.softmaxLoss(gpu, scores, [0, 5, 2, 1]);
    } catch (e) {
      hostBadLabel = (e as Error).message;
    }
    const scope = lib.createScope(gpu);
    const loss = scope.createTensorBuffer(4, 'loss');
    await lib.runDispatches(
      gpu,
      await lib.createSoftmaxLoss(scope, {
        scores: scope.createTensorBuffer(Float32Array.from(scores.data), 's'),
        y: scope.createTensorBuffer(Uint32Array.of(0, 5, 2, 1), 'y'),
        loss,
        dscores: scope.createTensorBuffer(80, 'ds'),
        n: 4,
        c: 5,
      }),
      'softmax bad label',
    );
    const badLoss = (await lib.readF32(gpu, loss, 1))[0]!;
    scope.destroy();
    return {
      out,
      host: { loss: ref.relError(host.loss, want.loss), dx: ref.relError(host.dx.data, want.dx.data), shape: host.dx.shape },
      hostBadLabel,
      badLossIsNaN: Number.isNaN(badLoss),
    };
  });
  for (const r of results.out) {
    const at = `n=${r.n} c=${r.c} scores 3 randn + ${r.shift}`;
    expect(r.loss, `loss ${at}`).toBeLessThan(1e-4);
    expect(r.dscores, `dscores ${at}`).toBeLessThan(1e-5);
    expect(r.others, `other loss slots untouched ${at}`).toBe(0);
  }
  console.log(
    `softmax: worst loss relError ${Math.max(...results.out.map((r) => r.loss!)).toExponential(2)}, dscores ${Math.max(...results.out.map((r) => r.dscores!)).toExponential(2)}`,
  );
  expect(results.host.loss).toBeLessThan(1e-4);
  expect(results.host.dx).toBeLessThan(1e-5);
  expect(results.host.shape).toEqual([4, 5]);
  expect(results.hostBadLabel).toContain('y[1] = 5');
  expect(results.badLossIsNaN, 'an out-of-range label makes the device loss NaN').toBe(true);
});

test('accuracy: argmax (first max on ties) == y counted into a u32 slot, accumulating', async ({ harness }) => {
  const results = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(13);
    const out: Record<string, number>[] = [];
    for (const [n, c] of [
      [1, 10],
      [50, 10],
      [257, 3],
      [5000, 10],
      [33, 1],
    ] as const) {
      const scope = lib.createScope(gpu);
      const scores = Float32Array.from(rng.randnTensor([n, c]).data);
      // Ties: every 7th row gets its max copied into a later column, and half of those rows are labelled with the later column.
      const y = new Uint32Array(n);
      let expected = 0;
      for (let i = 0; i < n; i++) {
        const row = scores.subarray(i * c, (i + 1) * c);
        let arg = 0;
        for (let j = 1; j < c; j++) if (row[j]! > row[arg]!) arg = j;
        let tieCol = -1;
        if (i % 7 === 0 && arg + 1 < c) {
          tieCol = c - 1;
          row[tieCol] = row[arg]!;
        }
        const r = rng.uniform();
        y[i] = tieCol >= 0 && i % 14 === 0 ? tieCol : r < 0.5 ? arg : rng.randint(c);
        if (y[i] === arg) expected++;
      }
      const correct = scope.createTensorBuffer(Uint32Array.of(0, 0, 0), 'correct');
      const list = await lib.createAccuracy(scope, {
        scores: scope.createTensorBuffer(scores, 'scores'),
        y: scope.createTensorBuffer(y, 'y'),
        n,
        c,
        correct,
        correctIndex: 1,
      });
      await lib.runDispatches(gpu, list, 'accuracy');
      const once = new Uint32Array(await lib.readBuffer(gpu, correct, 12));
      await lib.runDispatches(gpu, list, 'accuracy again');
      const twice = new Uint32Array(await lib.readBuffer(gpu, correct, 12));
      out.push({ n, c, expected, once: once[1]!, twice: twice[1]!, others: once[0]! + once[2]! + twice[0]! + twice[2]! });
      scope.destroy();
    }
    return out;
  });
  for (const r of results) {
    const at = `n=${r.n} c=${r.c}`;
    expect(r.once, `count ${at}`).toBe(r.expected);
    expect(r.twice, `accumulates ${at}`).toBe(2 * r.expected!);
    expect(r.others, `other slots untouched ${at}`).toBe(0);
  }
  expect(results.find((r) => r.n === 5000)!.expected).toBeGreaterThan(2000);
});
