// Update-rule kernels in headless Chromium vs the float64 reference rules, over 3 steps with state carried on the GPU.
import { test, expect } from '../fixtures.ts';

// Thresholds: each step is elementwise, < 1e-5 after every step, with the reference run on the same
// float32-rounded w and dw. A step is new = a * old + delta (w: a = 1, delta = -update; velocity: a =
// momentum; cache: decayRate; m: beta1; v: beta2), which can cancel to ~0 (velocity, m), so the error is
// taken relative to the operands: max |gpu - ref| / mag, mag = sum over the steps so far of
// (|a old| + |new - a old|) from the reference (earlier steps' rounding is carried along in the state);
// where nothing cancels this is the seed's relError within a small factor.
const tol = 1e-5;

// L2 is folded into the update (the rule steps on dw + reg·w): the parameters of odd index have reg > 0, and the
// reference steps on dw + reg·w in float64. Their dw take the sign of w, so the f32 add dw + reg·w does not cancel:
// its rounding is relative to |dw| + |reg·w|, which the error measure below (relative to each step's own operands,
// where the state starts at zero) cannot see when the sum cancels to ~0.
// Each rule at this adapter's own setting, and forced to the GPUs' 8 elements a lane with a tensor that spans several
// workgroups there (5003 f32: 10 workgroups of 64 lanes), so the setting a real GPU picks runs here too; and to 1 and 3,
// what a GPU takes for a store too small for 1024 workgroups at 8 (perInvocation: 79 and 27 workgroups here).
for (const lanes of [null, 8, 1, 3] as const)
  test(`sgd, sgd_momentum, rmsprop, adam: 3 steps vs the reference, L2 folded in, state on the GPU, lr change, errors${lanes ? ` (forced: ${lanes} elements a lane)` : ''}`, async ({
    harness,
  }) => {
    const results = await harness.page.evaluate(async (lanes) => {
      const { lib } = window;
      const ref = lib.reference;
      const gpu = await window.gpuReady;
      const rng = ref.makeRng(21);
      type Rule = 'sgd' | 'sgd_momentum' | 'rmsprop' | 'adam';
      const runs: [Rule, Record<string, number>][] = [
        ['sgd', {}],
        ['sgd', { learningRate: 0.1 }],
        ['sgd_momentum', {}],
        ['sgd_momentum', { learningRate: 0.05, momentum: 0.5 }],
        ['rmsprop', {}],
        ['rmsprop', { decayRate: 0.9, epsilon: 1e-6 }],
        ['adam', {}],
        ['adam', { learningRate: 1e-2, beta1: 0.8, beta2: 0.99 }],
        ['adam', { t: 5 }],
      ];
      const stateKey: Record<Rule, string[]> = { sgd: [], sgd_momentum: ['velocity'], rmsprop: ['cache'], adam: ['m', 'v'] };
      const decayOf: Record<string, string> = { velocity: 'momentum', cache: 'decayRate', m: 'beta1', v: 'beta2' };
      const mags = new Map<string, Float64Array>();
      const stepError = (name: string, got: Float32Array, want: Float64Array, old: Float64Array, a: number) => {
        const mag = mags.get(name) ?? new Float64Array(want.length);
        mags.set(name, mag);
        let worst = 0;
        for (let i = 0; i < want.length; i++) {
          mag[i] += Math.abs(a * old[i]!) + Math.abs(want[i]! - a * old[i]!);
          const e = Math.abs(got[i]! - want[i]!) / Math.max(1e-30, mag[i]!);
          if (!(e <= worst)) worst = e;
        }
        return worst;
      };
      const counts = lanes ? [1, 1000, 21, 5003] : [1, 1000, 21];
      const regs = counts.map((_, k) => (k % 2 ? 0.37 : 0));
      const out: Record<string, number | string>[] = [];
      for (const [rule, config] of runs) {
        const scope = lib.createScope(gpu);
        const ws: Float64Array[] = counts.map((c) => Float64Array.from(Float32Array.from(rng.randnTensor([c]).data)));
        const wb = ws.map((w, k) => scope.createTensorBuffer(Float32Array.from(w), `w${k}`));
        const dwb = counts.map((c, k) => scope.createTensorBuffer(c * 4, `dw${k}`));
        const opt = await lib.createOptimizer(
          scope,
          rule,
          config,
          counts.map((count, k) => ({ name: `p${k}`, w: wb[k]!, dw: dwb[k]!, count, reg: regs[k] })),
          lanes ? { elementsPerLane: lanes } : {},
        );
        // The reference's config carries state per parameter; `learningRate` changes at step 3 for every rule.
        const refConfigs: Record<string, unknown>[] = counts.map(() => ({ ...config }));
        let worstW = 0;
        let worstState = 0;
        for (let step = 1; step <= 3; step++) {
          if (step === 3) {
            opt.setLearningRate(0.5 * opt.config.learningRate!);
            for (const c of refConfigs) c.learningRate = opt.config.learningRate;
          }
          const dws = counts.map((c, k) =>
            Float64Array.from(Float32Array.from(rng.randnTensor([c], step, 0.1).data), (g, i) =>
              regs[k] ? Math.abs(g) * Math.sign(ws[k]![i]!) : g,
            ),
          );
          dws.forEach((dw, k) => gpu.device.queue.writeBuffer(dwb[k]!, 0, Float32Array.from(dw)));
          opt.beginStep();
          await lib.runDispatches(gpu, opt.dispatches, `${rule} step ${step}`);
          for (let k = 0; k < counts.length; k++) {
            const dwL2 = dws[k]!.map((g, i) => g + regs[k]! * ws[k]![i]!);
            const { nextW, config: next } = ref.updateRules[rule](ws[k]!, dwL2, refConfigs[k] as never);
            worstW = Math.max(
              worstW,
              stepError(`${rule}${out.length} w${k}`, await lib.readF32(gpu, wb[k]!, counts[k]!), nextW, ws[k]!, 1),
            );
            const nextState = next as unknown as Record<string, Float64Array | number>;
            for (const key of stateKey[rule]) {
              const old = (refConfigs[k]![key] as Float64Array | undefined) ?? new Float64Array(counts[k]!);
              const got = await lib.readF32(gpu, opt.state[key]![k]!, counts[k]!);
              worstState = Math.max(
                worstState,
                stepError(`${rule}${out.length} ${key}${k}`, got, nextState[key] as Float64Array, old, nextState[decayOf[key]!] as number),
              );
            }
            ws[k] = nextW;
            refConfigs[k] = nextState;
          }
        }
        out.push({
          rule,
          config: JSON.stringify(config),
          w: worstW,
          state: worstState,
          t: opt.config.t ?? -1,
          refT: (refConfigs[0] as { t?: number }).t ?? -1,
          stateNames: Object.keys(opt.state).join(','),
          dispatches: opt.dispatches.length,
          // workgroups of the largest parameter's launch
          groups: Math.max(...opt.dispatches.map((d) => d.workgroups[0] * d.workgroups[1])),
        });
        scope.destroy();
      }
      const errors: string[] = [];
      const scope = lib.createScope(gpu);
      const p = [{ name: 'W', w: scope.createTensorBuffer(16, 'w'), dw: scope.createTensorBuffer(16, 'dw'), count: 4 }];
      for (const [rule, config] of [
        ['adagrad', {}],
        ['adam', { learning_rate: 1e-3 }],
        ['sgd', { momentum: 0.9 }],
      ] as const) {
        try {
          await lib.createOptimizer(scope, rule as never, config, p);
          errors.push('no error');
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      const defaults = (await lib.createOptimizer(scope, 'adam', {}, p)).config;
      scope.destroy();
      return { out, errors, defaults, counts: counts.length };
    }, lanes);
    for (const r of results.out) {
      const at = `${r.rule} ${r.config}`;
      expect(r.w, `w after each of 3 steps, ${at}`).toBeLessThan(tol);
      expect(r.state, `state after each of 3 steps, ${at}`).toBeLessThan(tol);
      expect(r.t, `t, ${at}`).toBe(r.refT);
      expect(r.dispatches, `one dispatch per parameter, ${at}`).toBe(results.counts);
      if (lanes) expect(r.groups, `5003 f32 at ${lanes} a lane span several workgroups, ${at}`).toBe(Math.ceil(5003 / (64 * lanes)));
    }
    for (const r of results.out)
      console.log(`  ${r.rule} ${r.config}: w ${(r.w as number).toExponential(2)} state ${(r.state as number).toExponential(2)}`);
    console.log(
      `optim: worst w error ${Math.max(...results.out.map((r) => r.w as number)).toExponential(2)}, ` +
        `state ${Math.max(...results.out.map((r) => r.state as number)).toExponential(2)}`,
    );
    expect(results.out.find((r) => r.rule === 'adam')!.stateNames).toBe('m,v');
    expect(results.out.find((r) => r.rule === 'adam' && r.config === '{"t":5}')!.t).toBe(8);
    expect(results.errors[0]).toContain('"adagrad"');
    expect(results.errors[1]).toContain('"learning_rate"');
    expect(results.errors[2]).toContain('"momentum"');
    expect(results.defaults).toEqual({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, t: 0 });
  });
