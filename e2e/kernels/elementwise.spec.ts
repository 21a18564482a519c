// The elementwise family's rows on the GPU (GELU and its derivative, the add, ReLU backward) against the float64 reference and hand sums.
import { testOnOnePage as test, expect } from '../fixtures.ts';

test('GELU forward and derivative rows (vec4 and f32 lengths) match the float64 reference', async ({ harness }) => {
  const rows = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    // ‖got − want‖ / ‖want‖: an elementwise relative error is meaningless in the far left tail, where GELU is ~1e-15
    // in float64 and exactly 0 in f32
    const normRatio = (got: Float32Array, want: ArrayLike<number>) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < got.length; i++) {
        num += (got[i]! - want[i]!) ** 2;
        den += want[i]! ** 2;
      }
      return Math.sqrt(num / den);
    };
    const out: { n: number; fwd: number; bwd: number; maxAbsFwd: number; saturated: number[] }[] = [];
    for (const n of [4096, 1003]) {
      const rng = ref.makeRng(n);
      // a wide spread, and the far tails where tanh saturates (a naive tanh overflows there)
      const xs = Float32Array.from(rng.randnTensor([n], 3).data);
      xs[0] = 40;
      xs[1] = -40;
      const x = ref.makeTensor([n], xs);
      const dout = ref.makeTensor([n], Float32Array.from(rng.randnTensor([n]).data));
      const want = ref.geluForward(x);
      const wantDx = ref.geluBackward(dout, want.cache);
      const scope = lib.createScope(gpu);
      const xb = scope.createTensorBuffer(xs, 'x');
      const db = scope.createTensorBuffer(Float32Array.from(dout.data), 'dout');
      const yb = window.setup.poisoned(scope, n, 'y');
      const dxb = window.setup.poisoned(scope, n, 'dx');
      const { elementwiseRows: rows } = lib;
      await lib.runDispatches(gpu, [
        await lib.createElementwise(scope, rows.gelu, { a: xb, out: yb, n }),
        await lib.createElementwise(scope, rows.geluGrad, { a: xb, b: db, out: dxb, n }),
      ]);
      const y = await lib.readF32(gpu, yb, n);
      const dx = await lib.readF32(gpu, dxb, n);
      scope.destroy();
      let maxAbsFwd = 0;
      for (let i = 0; i < n; i++) maxAbsFwd = Math.max(maxAbsFwd, Math.abs(y[i]! - want.out.data[i]!));
      out.push({
        n,
        fwd: normRatio(y, want.out.data),
        bwd: normRatio(dx, wantDx.data),
        maxAbsFwd,
        saturated: [y[0]!, y[1]!, dx[0]! / dout.data[0]!, dx[1]!],
      });
    }
    return out;
  });
  expect(rows.map((r) => r.n)).toEqual([4096, 1003]);
  for (const r of rows) {
    // f32 kernels vs f64: the error of the whole vectors, and no element off by more than 1e-4 (|x| reaches 40)
    expect(r.fwd, `n=${r.n} forward`).toBeLessThan(1e-5);
    expect(r.bwd, `n=${r.n} derivative`).toBeLessThan(1e-5);
    expect(r.maxAbsFwd, `n=${r.n} forward, worst element`).toBeLessThan(1e-4);
    // the tails: GELU(40) = 40 with slope 1, GELU(-40) = 0 with slope 0 (and no NaN from an overflowing tanh)
    const [y40, yMinus40, slope40, dxMinus40] = r.saturated;
    expect(y40, `n=${r.n}`).toBe(40);
    expect(slope40, `n=${r.n}`).toBe(1);
    expect(Math.abs(yMinus40!), `n=${r.n}`).toBeLessThan(1e-6);
    expect(Math.abs(dxMinus40!), `n=${r.n}`).toBeLessThan(1e-6);
  }
});

test('the add row sums two vectors exactly; a buffer too small for n and a wrong arity are named', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const n = 1001;
    const a = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
    const b = Float32Array.from({ length: n }, (_, i) => 2 - i * 0.25);
    const scope = lib.createScope(gpu);
    const out = window.setup.poisoned(scope, n, 'out');
    const d = await lib.createAdd(scope, { a: scope.createTensorBuffer(a, 'a'), b: scope.createTensorBuffer(b, 'b'), out, n });
    await lib.runDispatches(gpu, [d]);
    const got = await lib.readF32(gpu, out, n);
    let err: string | null = null;
    try {
      await lib.createAdd(scope, { a: out, b: out, out, n: n + 100 });
    } catch (e) {
      err = (e as Error).message;
    }
    const messageOf = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: Error) => e.message,
      );
    const arity = [
      await messageOf(lib.createElementwise(scope, lib.elementwiseRows.add, { a: out, out, n })),
      await messageOf(lib.createElementwise(scope, lib.elementwiseRows.relu, { a: out, b: out, out, n })),
    ];
    scope.destroy();
    // a + b = i·0.25 - 1, exact in f32 at these sizes
    return { mismatches: Array.from(got).filter((v, i) => v !== i * 0.25 - 1).length, err, arity };
  });
  expect(r.mismatches).toBe(0);
  expect(r.err).toMatch(/add n=1101: a has \d+ bytes, needs 4404/);
  expect(r.arity).toEqual(['add n=1001: a binary row needs b', 'relu n=1001: a unary row takes no b']);
});

// ReLU backward: exact (a select).
test('ReLU backward (device and host forms) vs the reference, gradient 0 at x = 0', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(14);
    const n = 10007;
    const x = ref.makeTensor([n], Float32Array.from(rng.randnTensor([n]).data.map((v, i) => (i % 10 === 0 ? 0 : v))));
    const dout = ref.makeTensor([n], Float32Array.from(rng.randnTensor([n], 2, 0.5).data));
    const want = ref.reluBackward(dout, ref.reluForward(x).cache);
    const scope = lib.createScope(gpu);
    const dx = window.setup.poisoned(scope, n, 'dx');
    await lib.runDispatches(
      gpu,
      [
        await lib.createReluBackward(scope, {
          x: scope.createTensorBuffer(Float32Array.from(x.data), 'x'),
          dout: scope.createTensorBuffer(Float32Array.from(dout.data), 'dout'),
          dx,
          n,
        }),
      ],
      'relu backward',
    );
    const device = await lib.readF32(gpu, dx, n);
    scope.destroy();
    const x2 = { data: x.data.subarray(0, 60), shape: [3, 20] };
    const fwd = await lib.reluForward(gpu, x2);
    const host = await lib.reluBackward(gpu, { data: dout.data.subarray(0, 60), shape: [3, 20] }, fwd.cache);
    const wantFwd = ref.reluForward(ref.makeTensor([3, 20], x2.data));
    return {
      device: ref.relError(device, want.data),
      host: ref.relError(host.data, want.data.subarray(0, 60)),
      fwd: ref.relError(fwd.out.data, wantFwd.out.data),
      shape: host.shape,
      zeros: x.data.filter((v) => v === 0).length,
    };
  });
  expect(r.zeros).toBeGreaterThan(1000);
  expect(r.device).toBe(0);
  expect(r.host).toBe(0);
  expect(r.fwd).toBe(0);
  expect(r.shape).toEqual([3, 20]);
});
