// Batchnorm with the ReLU fused behind it (one op forward, one backward) against the float64 reference's batchnorm then relu.
import { test, expect } from '../fixtures.ts';

test('fused batchnorm + ReLU: out = max(0, bn(x)), and backward with the mask on the fly equals relu_backward then batchnorm backward', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(31);
    const f32 = (a: ArrayLike<number>) => Float64Array.from(Float32Array.from(a));
    // norm ratio ‖gpu − ref‖ / ‖ref‖
    const err = (got: ArrayLike<number>, want: ArrayLike<number>) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < want.length; i++) {
        num += (got[i]! - want[i]!) ** 2;
        den += want[i]! ** 2;
      }
      return Math.sqrt(num / Math.max(den, 1e-300));
    };
    const out: Record<string, number | string>[] = [];
    // 600 rows is several row chunks (the stats/merge/normalize and partial-sum kernels); the others are one chunk (the column kernels)
    for (const [n, d] of [
      [7, 5],
      [50, 100],
      [600, 3],
    ] as const) {
      const scope = lib.createScope(gpu);
      const t = (a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
      const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 1, 2).data));
      const gamma = f32(rng.randnTensor([d]).data);
      const beta = f32(rng.randnTensor([d], 0.3).data);
      const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
      const { out: bnOut, cache } = ref.forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
      const reluOut = ref.reluForward(bnOut).out;
      const dbn = ref.reluBackward(dout, bnOut);
      const want = ref.backwardBatchNormalization(dbn, cache);
      const xb = t(x.data, 'x');
      const gb = t(gamma, 'gamma');
      const ob = scope.createTensorBuffer(n * d * 4, 'out');
      window.setup.poison(gpu, ob, n * d);
      const saved = {
        mean: scope.createTensorBuffer(d * 4, 'mean'),
        invStd: scope.createTensorBuffer(d * 4, 'invStd'),
        xhat: scope.createTensorBuffer(n * d * 4, 'xhat'),
      };
      const fwd = await lib.createBatchNormForward(scope, {
        x: xb,
        gamma: gb,
        beta: t(beta, 'beta'),
        out: ob,
        runningMean: scope.createTensorBuffer(d * 4, 'rm'),
        runningVar: scope.createTensorBuffer(d * 4, 'rv'),
        n,
        d,
        mode: 'train',
        saved,
        relu: true,
      });
      await lib.runDispatches(gpu, fwd, 'bn+relu forward');
      const gotOut = await lib.readF32(gpu, ob, n * d);
      const negatives = Array.from(gotOut).filter((v) => v === 0).length;
      for (const variant of ['graph', 'alternative'] as const) {
        const dx = scope.createTensorBuffer(n * d * 4, 'dx');
        const dgamma = scope.createTensorBuffer(d * 4, 'dgamma');
        const dbeta = scope.createTensorBuffer(d * 4, 'dbeta');
        window.setup.poison(gpu, dx, n * d);
        const list = await lib.createBatchNormBackward(scope, {
          dout: t(dout.data, 'dout'),
          xhat: saved.xhat,
          invStd: saved.invStd,
          gamma: gb,
          dx,
          dgamma,
          dbeta,
          n,
          d,
          variant,
          reluOut: ob,
          ...(variant === 'graph' ? { x: xb, mean: saved.mean } : {}),
        });
        await lib.runDispatches(gpu, list, `bn+relu backward ${variant}`);
        out.push({
          shape: `${n}x${d}`,
          variant,
          out: err(gotOut, reluOut.data),
          zeros: negatives / (n * d),
          dx: err(await lib.readF32(gpu, dx, n * d), want.dx.data),
          dgamma: err(await lib.readF32(gpu, dgamma, d), want.dgamma),
          dbeta: err(await lib.readF32(gpu, dbeta, d), want.dbeta),
        });
      }
      scope.destroy();
    }
    return out;
  });
  expect(rows).toHaveLength(6);
  for (const r of rows) {
    const at = `${r.shape} ${r.variant}`;
    expect(r.zeros, `${at}: ReLU zeroed part of the output`).toBeGreaterThan(0.1);
    expect(r.out, `${at} out`).toBeLessThan(1e-5);
    expect(r.dx, `${at} dx`).toBeLessThan(1e-4);
    expect(r.dgamma, `${at} dgamma`).toBeLessThan(1e-4);
    expect(r.dbeta, `${at} dbeta`).toBeLessThan(1e-4);
  }
});
