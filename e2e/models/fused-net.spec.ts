// Whole nets with the fused hidden layers (e2e/kernels/fusion.spec.ts checks each kernel) against the float64 reference net.
import { test, expect } from '../fixtures.ts';

test('nets with the fused layers (batchnorm: product and partials, both variants; none: the ReLU epilogue) give the float64 loss and every gradient', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const { reference } = lib;
    const out = [];
    // inputDim 300: the first layer sums split-K partials; the hidden layers make their product in the kernel
    for (const [useBatchnorm, backwardVariant] of [
      [true, 'graph'],
      [true, 'alternative'],
      [false, 'alternative'],
    ] as const) {
      const opts = { inputDim: 300, numClasses: 10, weightScale: 5e-2, seed: 5, useBatchnorm, backwardVariant, reg: 0.5 };
      const N = 37;
      const rng = reference.makeRng(12);
      const X = rng.randnTensor([N, 300]);
      const y = Array.from({ length: N }, () => rng.randint(10));
      const ref = new reference.FullyConnectedNeuralNet([53, 31], opts);
      const net = await lib.FullyConnectedNeuralNet.create(gpu, [53, 31], opts);
      const want = ref.loss(X, y);
      const got = await net.loss(X, y);
      type Plans = Map<string, Promise<{ dispatches: { label: string }[] }>>;
      const plans = (net as unknown as { parts: { session: { programs: { plans: Plans } } } }).parts.session.programs.plans;
      const labels = (await Promise.all([...plans.values()])).flatMap((p) => p.dispatches.map((q) => q.label));
      const kinds = {
        fused: labels.filter((l) => l.includes(' fused (')).length,
        grouped: labels.filter((l) => l.includes(' grouped ')).length,
        epilogue: labels.filter((l) => l.startsWith('matmul') && l.endsWith('+relu')).length,
        relu: labels.filter((l) => l.startsWith('relu')).length,
      };
      for (const [name, g] of Object.entries(want.grads)) {
        // absolute where the gradient is exactly zero (a bias right before batchnorm)
        const err = window.check.normRel(got.grads[name]!, g.data);
        out.push({
          at: `bn ${useBatchnorm} ${backwardVariant}`,
          useBatchnorm,
          name,
          err,
          lossErr: Math.abs(got.loss - want.loss) / want.loss,
          kinds,
        });
      }
      await net.destroy();
    }
    return out;
  });
  expect(rows.length).toBe(2 * 10 + 6);
  for (const r of rows) {
    expect(r.err, `${r.at} ${r.name}`).toBeLessThan(1e-4);
    expect(r.lossErr, r.at).toBeLessThan(1e-5);
    // batchnorm: two fused forwards (one from partials); none: two ReLU epilogues and no relu ops; both: three grouped backwards
    expect(r.kinds, r.at).toEqual(
      r.useBatchnorm ? { fused: 2, grouped: 3, epilogue: 0, relu: 0 } : { fused: 0, grouped: 3, epilogue: 2, relu: 0 },
    );
  }
});
