// Layer norm kernels in headless Chromium vs the float64 reference: forward and backward, with subgroups (at the adapter's
// width and at forced widths: NVIDIA's 32, and 256, wider than any adapter's subgroups) and without.
import { test, expect } from '../fixtures.ts';

// Errors relative to the magnitude of the rounded operands, as in batchnorm.spec.ts: the float64 answers and the
// magnitudes are demo/experiments/norm-checks.ts's, which the self-test's layer norm cases use too.
const elementwiseTol = 1e-5;
const reductionTol = 1e-4;

// 1, primes, sizes that are not multiples of the 64-lane row workgroup or of the 4-lane subgroup, and a d above 256.
const ns = [1, 2, 3, 7, 50, 257];
const ds = [1, 2, 3, 5, 64, 101, 509];
const cases: [number, number][] = ns.flatMap((n) => ds.map((d): [number, number] => [n, d]));

// The subgroup widths forced beside the adapter's own: NVIDIA's 32, and 256 (wider than any adapter's subgroups, so the
// row sum is always built from several subgroups there; 32 is too wherever the adapter's subgroups are narrower).
const forcedWidths = [32, 256];

test('layer norm forward and backward match the reference on both row reductions (subgroups, workgroup memory)', async ({ harness }) => {
  const { results, hasSubgroups, subgroupMinSize, adapterHasSubgroups, refused, widthErrors } = await harness.page.evaluate(
    async ([cases, forcedWidths]) => {
      const { lib } = window;
      const ref = lib.reference;
      const gpu = await window.gpuReady;
      const rng = ref.makeRng(1607);
      const { f32 } = window.check;
      // the shared check, as the dev server serves it to the page
      const checks: string = '/demo/experiments/norm-checks.ts';
      const { makeLayerNormCheck } = (await import(checks)) as typeof import('../../demo/experiments/norm-checks.ts');
      const out: Record<string, number | string | boolean>[] = [];
      for (const [n, d] of cases) {
        const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
        const gamma = f32(rng.randnTensor([d]).data);
        const beta = f32(rng.randnTensor([d]).data);
        const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
        const check = makeLayerNormCheck(x, gamma, beta, dout);
        // the subgroup path where the device has subgroups (requestGpu asks for them where the adapter has them), at the
        // adapter's width and the forced ones; always the workgroup one
        type Variant = { reduction: 'subgroups' | 'workgroup'; subgroupWidth?: number };
        const variants: Variant[] = [{ reduction: 'workgroup' }];
        if (gpu.hasSubgroups && gpu.subgroupMinSize > 0)
          variants.unshift({ reduction: 'subgroups' }, ...forcedWidths.map((w): Variant => ({ reduction: 'subgroups', subgroupWidth: w })));
        for (const { reduction, subgroupWidth } of variants) {
          const variant = subgroupWidth ? `${reduction} x${subgroupWidth}` : reduction;
          const scope = lib.createScope(gpu);
          const t = (a: ArrayLike<number>, label: string) => scope.createTensorBuffer(Float32Array.from(a), label);
          const gb = t(gamma, 'gamma');
          const ob = scope.createTensorBuffer(n * d * 4, 'out');
          const saved = {
            mean: scope.createTensorBuffer(n * 4, 'mean'),
            invStd: scope.createTensorBuffer(n * 4, 'invStd'),
            xhat: scope.createTensorBuffer(n * d * 4, 'xhat'),
          };
          window.setup.poison(gpu, ob, n * d);
          window.setup.poison(gpu, saved.mean, n);
          window.setup.poison(gpu, saved.invStd, n);
          window.setup.poison(gpu, saved.xhat, n * d);
          const fwd = await lib.createLayerNormForward(scope, {
            x: t(x.data, 'x'),
            gamma: gb,
            beta: t(beta, 'beta'),
            out: ob,
            n,
            d,
            saved,
            reduction,
            subgroupWidth,
          });
          await lib.runDispatches(gpu, fwd, `ln forward ${variant} ${n}x${d}`);
          const dx = scope.createTensorBuffer(n * d * 4, 'dx');
          const dgamma = scope.createTensorBuffer(d * 4, 'dgamma');
          const dbeta = scope.createTensorBuffer(d * 4, 'dbeta');
          window.setup.poison(gpu, dx, n * d);
          window.setup.poison(gpu, dgamma, d);
          window.setup.poison(gpu, dbeta, d);
          // backward reads the GPU forward's xhat and invStd, as in training
          const bwd = await lib.createLayerNormBackward(scope, {
            dout: t(dout.data, 'dout'),
            xhat: saved.xhat,
            invStd: saved.invStd,
            gamma: gb,
            dx,
            dgamma,
            dbeta,
            n,
            d,
            reduction,
            subgroupWidth,
          });
          await lib.runDispatches(gpu, bwd, `ln backward ${variant} ${n}x${d}`);
          const got = {
            out: await lib.readF32(gpu, ob, n * d),
            xhat: await lib.readF32(gpu, saved.xhat, n * d),
            mean: await lib.readF32(gpu, saved.mean, n),
            invStd: await lib.readF32(gpu, saved.invStd, n),
            dx: await lib.readF32(gpu, dx, n * d),
            dgamma: await lib.readF32(gpu, dgamma, d),
            dbeta: await lib.readF32(gpu, dbeta, d),
          };
          out.push({
            n,
            d,
            reduction,
            variant,
            lanes: subgroupWidth ?? (reduction === 'subgroups' ? gpu.subgroupMinSize : 64),
            label: `${fwd[0]!.label} | ${bwd[0]!.label}`,
            ...check.measure(got),
            finite: Object.values(got).every((a) => a.every(Number.isFinite)),
            maxAbsDxD1: d === 1 ? Math.max(...got.dx.map(Math.abs)) : 0,
          });
          scope.destroy();
        }
      }
      let refused = '';
      if (!gpu.hasSubgroups) {
        const scope = lib.createScope(gpu);
        const b = scope.createTensorBuffer(64, 'b');
        await lib
          .createLayerNormForward(scope, { x: b, gamma: b, beta: b, out: b, n: 1, d: 1, reduction: 'subgroups' })
          .catch((e: Error) => (refused = e.message));
        scope.destroy();
      }
      // a forced width is checked before anything is built: only on the subgroup path, and 1 to 256 lanes
      const widthErrors: string[] = [];
      for (const [reduction, subgroupWidth] of [
        ['workgroup', 32],
        ['subgroups', 0],
        ['subgroups', 300],
      ] as const) {
        if (reduction === 'subgroups' && !gpu.hasSubgroups) continue;
        const scope = lib.createScope(gpu);
        const b = scope.createTensorBuffer(64, 'b');
        widthErrors.push(
          await lib
            .createLayerNormForward(scope, { x: b, gamma: b, beta: b, out: b, n: 1, d: 1, reduction, subgroupWidth })
            .then(() => '')
            .catch((e: Error) => e.message),
        );
        scope.destroy();
      }
      return {
        widthErrors,
        results: out,
        hasSubgroups: gpu.hasSubgroups,
        subgroupMinSize: gpu.subgroupMinSize,
        adapterHasSubgroups: gpu.adapter.detail?.features.includes('subgroups') ?? null,
        refused,
      };
    },
    [cases, forcedWidths] as const,
  );
  // requestGpu asks for subgroups wherever the adapter has them; without them the subgroup path is refused, naming why
  if (adapterHasSubgroups !== null)
    expect(hasSubgroups, 'the device has subgroups exactly when the adapter does').toBe(adapterHasSubgroups);
  if (hasSubgroups) expect(subgroupMinSize).toBeGreaterThan(0);
  else expect(refused).toContain('reduction \'subgroups\' needs the device feature "subgroups"');
  expect(widthErrors[0]).toBe("layernorm: subgroupWidth applies to reduction 'subgroups', not 'workgroup'");
  if (hasSubgroups) {
    expect(widthErrors[1]).toBe('layernorm: subgroupWidth must be an integer from 1 to 256, got 0');
    expect(widthErrors[2]).toBe('layernorm: subgroupWidth must be an integer from 1 to 256, got 300');
  }
  const variants = hasSubgroups ? ['subgroups', ...forcedWidths.map((w) => `subgroups x${w}`), 'workgroup'] : ['workgroup'];
  expect([...new Set(results.map((r) => r.variant))]).toEqual(variants);
  const worst = (r: string, k: string) => Math.max(...results.filter((x) => x.variant === r).map((x) => x[k] as number)).toExponential(2);
  for (const r of variants) {
    console.log(
      `layernorm ${r} (subgroupMinSize ${subgroupMinSize}), ${cases.length} shapes, worst: out ${worst(r, 'out')}, xhat ${worst(r, 'xhat')}, ` +
        `mean ${worst(r, 'mean')}, invStd ${worst(r, 'invStd')}, dx ${worst(r, 'dx')}, dgamma ${worst(r, 'dgamma')}, dbeta ${worst(r, 'dbeta')}`,
    );
  }
  for (const r of results) {
    const at = `${r.variant} N=${r.n} D=${r.d}`;
    expect(r.label as string, `kernel path ${at}`).toContain(`layernorm.forward(${r.reduction})`);
    expect(r.label as string, `lanes per row ${at}`).toContain(`lanes=${r.lanes}`);
    expect(r.finite, `finite ${at}`).toBe(true);
    expect(r.out, `out ${at}`).toBeLessThan(elementwiseTol);
    expect(r.xhat, `xhat ${at}`).toBeLessThan(elementwiseTol);
    expect(r.mean, `mean ${at}`).toBeLessThan(reductionTol);
    expect(r.invStd, `invStd ${at}`).toBeLessThan(reductionTol);
    expect(r.dx, `dx ${at}`).toBeLessThan(reductionTol);
    expect(r.dgamma, `dgamma ${at}`).toBeLessThan(reductionTol);
    expect(r.dbeta, `dbeta ${at}`).toBeLessThan(reductionTol);
    // one feature: xhat = 0 and out = beta whatever x is, and dx is exactly 0 in float64
    if (r.d === 1) expect(r.maxAbsDxD1, `D=1 dx ${at}`).toBeLessThan(1e-6);
  }
});

test("layer norm host forms (notebook-style) match the reference at cs231n's N = 4, D = 5, and free their buffers", async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    const rng = ref.makeRng(4);
    const { f32, scaled } = window.check;
    const [n, d] = [4, 5];
    const x = ref.makeTensor([n, d], f32(rng.randnTensor([n, d], 5, 12).data));
    const gamma = f32(rng.randnTensor([d]).data);
    const beta = f32(rng.randnTensor([d]).data);
    const dout = ref.makeTensor([n, d], f32(rng.randnTensor([n, d]).data));
    const live0 = gpu.stats.buffersLive;
    const want = ref.forwardLayerNormalization(x, gamma, beta, {});
    const wantGrads = ref.backwardLayerNormalization(dout, want.cache);
    const rows: Record<string, number>[] = [];
    for (const reduction of gpu.hasSubgroups ? (['subgroups', 'workgroup'] as const) : (['workgroup'] as const)) {
      const got = await lib.forwardLayerNormalization(gpu, x, gamma, beta, { reduction });
      const g = await lib.backwardLayerNormalization(gpu, dout, got.cache);
      rows.push({
        out: scaled(got.out.data, want.out.data),
        dx: scaled(g.dx.data, wantGrads.dx.data),
        dgamma: scaled(g.dgamma, wantGrads.dgamma),
        dbeta: scaled(g.dbeta, wantGrads.dbeta),
      });
    }
    const errors: string[] = [];
    for (const bad of [
      () => lib.forwardLayerNormalization(gpu, x, gamma, beta, { mode: 'train' } as never),
      () => lib.forwardLayerNormalization(gpu, x, [1, 2], beta),
      () => lib.forwardLayerNormalization(gpu, x, gamma, beta, { reduction: 'warp' } as never),
    ]) {
      try {
        await bad();
        errors.push('');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return { rows, errors, live: gpu.stats.buffersLive - live0 };
  });
  for (const row of r.rows) {
    expect(row.out).toBeLessThan(1e-5);
    expect(row.dx).toBeLessThan(1e-4);
    expect(row.dgamma).toBeLessThan(1e-4);
    expect(row.dbeta).toBeLessThan(1e-4);
  }
  expect(r.errors[0]).toContain('unknown lnParam key "mode"');
  expect(r.errors[1]).toContain('forwardLayerNormalization: gamma has shape [2], expected [5]');
  expect(r.errors[2]).toContain('reduction must be "subgroups" or "workgroup"');
  expect(r.live, 'host forms destroy their buffers').toBe(0);
});
