// Batched matmul products as a population lays them out (the model axis) in headless Chromium vs float64 products computed
// in the page: column blocks of wider matrices, a shared A, bias per batch, split-K; block8sg's subgroup quads and its plan.
import { testOnOnePage as test, expect } from '../fixtures.ts';

// max|gpu - f64| / max|f64| over C, as in e2e/kernels/matmul.spec.ts (far under 1e-4 for these k).
const tol = 1e-4;

test("batched products (a population's model axis): column blocks of wider matrices, a shared A, bias per batch, split-K", async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(17);
    const out: { what: string; err: number; untouched: boolean }[] = [];
    // (batches, m, n, k, layout, shared A, splits): the affine forward, dx and dW layouts of src/ops/batched-affine.ts
    // the last ones aligned (a population's widths rounded up to multiples of 4): block8vec4, forced, so a GPU runs it too
    const list: [number, number, number, number, boolean, boolean, boolean, number, 'block8vec4'?][] = [
      [3, 7, 5, 13, false, false, true, 1],
      [3, 7, 5, 13, false, false, false, 1],
      [4, 9, 6, 11, false, true, false, 1],
      [5, 13, 7, 6, true, false, false, 1],
      [5, 13, 7, 6, true, false, true, 1],
      [2, 10, 12, 70, false, false, true, 3],
      [7, 6, 10, 130, true, false, false, 2],
      [7, 10, 12, 24, false, false, true, 1, 'block8vec4'],
      [3, 10, 12, 16, false, false, false, 1, 'block8vec4'],
      [5, 9, 8, 12, false, true, false, 1, 'block8vec4'],
      [7, 12, 8, 10, true, false, true, 1, 'block8vec4'],
      [3, 20, 12, 9, true, false, false, 1, 'block8vec4'],
      [5, 10, 12, 72, false, false, true, 3, 'block8vec4'],
      [3, 12, 8, 40, true, false, false, 2, 'block8vec4'],
    ];
    for (const [B, m, n, k, transA, transB, sharedA, splits, variant] of list) {
      await lib.withScope(gpu, async (scope) => {
        // A: B column blocks of a [rows, B·cols] matrix (or one shared [rows, cols]); B: B dense [rows, cols] blocks; C: blocks of [m, B·n]
        const [ar, ac] = transA ? [k, m] : [m, k];
        const [br, bc] = transB ? [n, k] : [k, n];
        const lda = sharedA ? ac : B * ac;
        const a = Float32Array.from({ length: ar * lda }, () => rng.randn());
        const b = Float32Array.from({ length: B * br * bc }, () => rng.randn());
        const bias = Float32Array.from({ length: B * n }, () => rng.randn());
        const poison = 12345;
        const c = new Float32Array(m * B * n + 5).fill(poison);
        const bufs = {
          a: scope.createTensorBuffer(a, 'a'),
          b: scope.createTensorBuffer(b, 'b'),
          c: scope.createTensorBuffer(c, 'c'),
          bias: scope.createTensorBuffer(bias, 'bias'),
        };
        const ds = await lib.createMatmul(scope, {
          ...bufs,
          m,
          n,
          k,
          transA,
          transB,
          splits,
          lda,
          ldc: B * n,
          variant,
          batch: { count: B, a: sharedA ? 0 : ac, b: br * bc, c: n, bias: n },
        });
        if (variant && !ds[0]!.label.includes(variant)) throw new Error(`${ds[0]!.label}: not ${variant}`);
        await lib.runDispatches(gpu, ds);
        const got = new Float32Array(await lib.readBuffer(gpu, bufs.c));
        const want = new Float64Array(m * B * n);
        for (let t = 0; t < B; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = bias[t * n + j]!;
              for (let q = 0; q < k; q++) {
                const av = transA ? a[q * lda + (sharedA ? 0 : t * ac) + i]! : a[i * lda + (sharedA ? 0 : t * ac) + q]!;
                const bv = transB ? b[t * br * bc + j * bc + q]! : b[t * br * bc + q * bc + j]!;
                s += av * bv;
              }
              want[i * B * n + t * n + j] = s;
            }
        out.push({
          what: `${B}x ${m}x${n}x${k} transA=${transA} transB=${transB} sharedA=${sharedA} splits=${splits}`,
          err: window.check.scaled(got.subarray(0, m * B * n), want),
          untouched: got.subarray(m * B * n).every((v) => v === poison),
        });
      });
    }
    return out;
  });
  expect(rows).toHaveLength(14);
  for (const r of rows) {
    expect(r.err, r.what).toBeLessThan(tol);
    expect(r.untouched, `${r.what}: nothing written past C`).toBe(true);
  }
});

test("block8sg (A shared through 4-lane subgroups, blocks over every batch's columns): a population's first-layer forward and dW layouts and plain products, ragged sizes, bias, split-K", async ({
  harness,
}) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const rng = lib.reference.makeRng(29);
    const quads = await lib.subgroupQuads(gpu);
    const out: { what: string; err: number; untouched: boolean; label: string }[] = [];
    const refusals: string[] = [];
    // (batches, m, n, k, transA, bias, splits): forward = X [m,k] · W_t [k,n] into the column blocks of C [m, B·n];
    // dW (transA) = X stored [k,m] times the column blocks of dY [k, B·n] into C_t [m,n]. n = 12 and 4 put blocks of 8
    // across two batches; B·n/4 odd leaves a last half block; m not a multiple of 8; k % 4 != 0 for the dW tail.
    const list: [number, number, number, number, boolean, boolean, number][] = [
      [5, 13, 12, 24, false, true, 1],
      [5, 13, 12, 24, false, false, 1],
      [3, 8, 4, 40, false, true, 1],
      [20, 50, 52, 64, false, true, 1],
      [7, 9, 12, 32, false, true, 3],
      [1, 17, 36, 20, false, true, 1],
      [1, 8, 8, 4, false, false, 1],
      [5, 12, 12, 10, true, false, 1],
      [5, 20, 12, 9, true, true, 1],
      [3, 16, 4, 13, true, false, 1],
      [20, 48, 52, 50, true, false, 1],
      [7, 12, 8, 30, true, false, 2],
      [1, 44, 20, 7, true, false, 1],
      [1, 4, 4, 1, true, true, 1],
    ];
    for (const [B, m, n, k, transA, withBias, splits] of list) {
      await lib.withScope(gpu, async (scope) => {
        const a = Float32Array.from({ length: m * k }, () => rng.randn());
        const b = Float32Array.from({ length: B * k * n }, () => rng.randn());
        const bias = Float32Array.from({ length: B * n }, () => rng.randn());
        const poison = 12345;
        const c = new Float32Array(B * m * n + 8).fill(poison);
        const bufs = {
          a: scope.createTensorBuffer(a, 'a'),
          b: scope.createTensorBuffer(b, 'b'),
          c: scope.createTensorBuffer(c, 'c'),
          bias: withBias ? scope.createTensorBuffer(bias, 'bias') : undefined,
        };
        const layout = transA
          ? { lda: m, ldb: B * n, ldc: n, batch: { count: B, a: 0, b: n, c: m * n, bias: n } }
          : { lda: k, ldb: n, ldc: B * n, batch: { count: B, a: 0, b: k * n, c: n, bias: n } };
        const forced = lib.createMatmul(scope, { ...bufs, m, n, k, transA, splits, variant: 'block8sg', ...layout });
        // a device without 4-lane subgroup quads refuses the forced kernel, naming why
        if (!quads)
          return refusals.push(
            await forced.then(
              () => 'no error',
              (e: Error) => e.message,
            ),
          );
        const ds = await forced;
        await lib.runDispatches(gpu, ds);
        const got = new Float32Array(await lib.readBuffer(gpu, bufs.c));
        const want = new Float64Array(B * m * n);
        for (let t = 0; t < B; t++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = withBias ? bias[t * n + j]! : 0;
              for (let q = 0; q < k; q++)
                s += (transA ? a[q * m + i]! : a[i * k + q]!) * (transA ? b[q * B * n + t * n + j]! : b[t * k * n + q * n + j]!);
              want[transA ? t * m * n + i * n + j : i * B * n + t * n + j] = s;
            }
        out.push({
          what: `${B}x ${m}x${n}x${k} transA=${transA} bias=${withBias} splits=${splits}`,
          label: ds.map((d) => d.label).join(' + '),
          err: window.check.scaled(got.subarray(0, B * m * n), want),
          untouched: got.subarray(B * m * n).every((v) => v === poison),
        });
      });
    }
    // the auto plan on this adapter: block8sg for a population's first layer (forward and dW), block8vec4 where A is per model
    const auto = await lib.withScope(gpu, async (scope) => {
      const t = (len: number) => scope.createTensorBuffer(len * 4, 't');
      const fwd = await lib.createMatmul(scope, {
        a: t(50 * 3072),
        b: t(20 * 3072 * 52),
        c: t(50 * 1040),
        m: 50,
        n: 52,
        k: 3072,
        lda: 3072,
        ldb: 52,
        ldc: 1040,
        batch: { count: 20, a: 0, b: 3072 * 52, c: 52 },
      });
      const dw = await lib.createMatmul(scope, {
        a: t(50 * 3072),
        b: t(50 * 1040),
        c: t(20 * 3072 * 52),
        m: 3072,
        n: 52,
        k: 50,
        transA: true,
        lda: 3072,
        ldb: 1040,
        ldc: 52,
        batch: { count: 20, a: 0, b: 52, c: 3072 * 52 },
      });
      const deep = await lib.createMatmul(scope, {
        a: t(50 * 1040),
        b: t(20 * 52 * 52),
        c: t(50 * 1040),
        m: 50,
        n: 52,
        k: 52,
        lda: 1040,
        ldb: 52,
        ldc: 1040,
        batch: { count: 20, a: 52, b: 52 * 52, c: 52 },
      });
      return [fwd, dw, deep].map((d) => d[0]!.label);
    });
    const cpuAdapter = {
      vendor: 'google',
      architecture: 'swiftshader',
      device: '',
      description: 'SwiftShader Device (Subzero)',
      runtime: 'browser' as const,
    };
    const plan = (n: number, batches: number) => lib.planMatmul(cpuAdapter, { m: 50, n, k: 3072, batches, subgroupQuads: true });
    const refused = (() => {
      try {
        lib.planMatmul(cpuAdapter, { m: 50, n: 52, k: 3072, batches: 20, variant: 'block8sg' });
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    return {
      quads,
      refusals,
      cpu: lib.isCpuAdapter(gpu.adapter),
      hasSubgroups: gpu.hasSubgroups,
      subgroupMinSize: gpu.subgroupMinSize,
      out,
      auto,
      // 20 x 52 columns = 130 blocks of 8 = 33 quads (2 lanes idle) per row block, 7 row blocks: 231 quads, 924 invocations
      population: (({ variant, nb, blocks, workgroups }) => ({ variant, nb, blocks, workgroups }))(plan(52, 20)),
      // one 100-wide product: 13 blocks in 4 quads would idle 3 lanes of 16: block8vec4 instead
      narrow: plan(100, 1).variant,
      refused,
      eligible: [
        lib.block8sgEligible({
          m: 50,
          n: 52,
          k: 3072,
          lda: 3072,
          ldb: 52,
          ldc: 1040,
          batches: 20,
          batchA: 0,
          batchB: 3072 * 52,
          batchC: 52,
        }),
        lib.block8sgEligible({ m: 50, n: 52, k: 52, lda: 1040, ldb: 52, ldc: 1040, batches: 20, batchA: 52, batchB: 52 * 52, batchC: 52 }),
        lib.block8sgEligible({ m: 50, n: 52, k: 52, transB: true, lda: 52, ldb: 52, ldc: 52 }),
        lib.block8sgEligible({ m: 50, n: 50, k: 3072, lda: 3072, ldb: 52, ldc: 52 }),
      ],
      live: gpu.stats.buffersLive,
    };
  });
  // Adapter-dependent: SwiftShader has 4-lane subgroups of consecutive invocations (quads), so every case runs block8sg
  // against float64; a device without them (the GPUs') refuses every forced case with the row's reason.
  if (!(r.hasSubgroups && r.subgroupMinSize === 4)) expect(r.quads).toBe(false);
  expect(r.out.length + r.refusals.length).toBe(14);
  expect(r.out).toHaveLength(r.quads ? 14 : 0);
  for (const m of r.refusals) expect(m).toContain('block8sg kernel needs');
  for (const x of r.out) {
    expect(x.label, x.what).toContain('block8sg');
    expect(x.err, `${x.what} (${x.label})`).toBeLessThan(tol);
    expect(x.untouched, `${x.what}: nothing written past C`).toBe(true);
  }
  expect(r.out.filter((x) => x.what.includes('splits=1')).every((x) => !x.label.includes('reduce'))).toBe(true);
  expect(r.out.filter((x) => !x.what.includes('splits=1')).every((x) => x.label.includes('reduce'))).toBe(true);
  // the auto plan per adapter class: CPU adapters block8sg where A is shared (with quads; else block8vec4), block8vec4
  // where A is per model; GPUs block8vec4 for every aligned batched product (blocks packed over the models)
  const shared = r.cpu && r.quads ? 'block8sg' : 'block8vec4';
  expect(r.auto.map((label) => / (block8sg|block8vec4|block8|vec4) /.exec(label)?.[1])).toEqual([shared, shared, 'block8vec4']);
  expect(r.population).toEqual({ variant: 'block8sg', nb: 130, blocks: 231, workgroups: [58, 1, 1] });
  expect(r.narrow).toBe('block8vec4');
  expect(r.refused).toContain('block8sg kernel needs');
  expect(r.eligible).toEqual([true, false, false, false]);
  expect(r.live).toBe(0);
});
