// The self-test's loss-side cases: softmax loss (and the head fused in front), the four update rules over steps with state on the GPU (L2 folded in), and the gathers.
import {
  createAffineSoftmaxLoss,
  createGather,
  createGatherRows,
  createOptimizer,
  createSoftmaxLoss,
  packUint8,
  withScope,
} from '../../src/engine.ts';
import { readBuffer, readF32, runDispatches, type GpuContext, type GpuScope } from '../../src/engine.ts';
import { reference as ref, type OptimizerRule } from '../../src/index.ts';
import { relErr } from './error-measures.ts';
import type { SelfTestCase, SelfTestMeasure } from './selftest.ts';

/** e2e/kernels/losses-softmax.spec.ts: dscores relError < 1e-5 (elementwise), the loss (a mean over rows) < 1e-4. */
async function softmax(gpu: GpuContext, n: number, c: number, shift: number): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(11 + n);
  const scores = ref.makeTensor([n, c], Float32Array.from(rng.randnTensor([n, c], 3, shift).data));
  const y = Array.from({ length: n }, () => rng.randint(c));
  const want = ref.softmaxLoss(scores, y);
  return withScope(gpu, async (scope) => {
    const loss = scope.createTensorBuffer(Float32Array.of(NaN), 'loss');
    const dscores = scope.createTensorBuffer(new Float32Array(n * c).fill(NaN), 'dscores');
    const list = await createSoftmaxLoss(scope, {
      ...{ scores: scope.createTensorBuffer(Float32Array.from(scores.data), 'scores'), loss, dscores, n, c },
      y: scope.createTensorBuffer(Uint32Array.from(y), 'y'),
    });
    await runDispatches(gpu, list, 'selftest softmax');
    return [
      { what: 'loss', error: relErr((await readF32(gpu, loss, 1))[0]!, want.loss), tolerance: 1e-4 },
      { what: 'dscores', error: relErr(await readF32(gpu, dscores, n * c), want.dx.data), tolerance: 1e-5 },
    ];
  });
}

/** e2e/kernels/softmax-affine.spec.ts: scores = h·W + b then the softmax loss in one launch; scores relative to Σ|h w| + |b|, < 1e-5. */
async function affineSoftmax(gpu: GpuContext, n: number, c: number, d: number, workgroupSize: number): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(17 + n);
  const h = ref.makeTensor([n, d], Float32Array.from(rng.randnTensor([n, d]).data));
  const w = ref.makeTensor([d, c], Float32Array.from(rng.randnTensor([d, c], 0.3).data));
  const b = ref.makeTensor([c], Float32Array.from(rng.randnTensor([c], 0.5).data));
  const y = Array.from({ length: n }, () => rng.randint(c));
  const scores = ref.affineForward(h, w, b).out;
  const want = ref.softmaxLoss(scores, y);
  return withScope(gpu, async (scope) => {
    const up = (t: { data: ArrayLike<number> }, name: string) => scope.createTensorBuffer(Float32Array.from(t.data), name);
    const loss = scope.createTensorBuffer(Float32Array.of(NaN), 'loss');
    const out = scope.createTensorBuffer(new Float32Array(n * c).fill(NaN), 'scores');
    const dscores = scope.createTensorBuffer(new Float32Array(n * c).fill(NaN), 'dscores');
    const list = await createAffineSoftmaxLoss(scope, {
      ...{ h: up(h, 'h'), w: up(w, 'w'), b: up(b, 'b'), scores: out, loss, dscores, n, c, d, workgroupSize },
      y: scope.createTensorBuffer(Uint32Array.from(y), 'y'),
    });
    await runDispatches(gpu, list, 'selftest affine+softmax');
    const got = await readF32(gpu, out, n * c);
    let worst = 0;
    for (let e = 0; e < n * c; e++) {
      const [i, j] = [Math.floor(e / c), e % c];
      let mag = Math.abs(b.data[j]!);
      for (let k = 0; k < d; k++) mag += Math.abs(h.data[i * d + k]! * w.data[k * c + j]!);
      const err = Math.abs(got[e]! - scores.data[e]!) / mag;
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
    return [
      { what: 'scores', error: worst, tolerance: 1e-5 },
      { what: 'loss', error: relErr((await readF32(gpu, loss, 1))[0]!, want.loss), tolerance: 1e-4 },
      { what: 'dscores', error: relErr(await readF32(gpu, dscores, n * c), want.dx.data), tolerance: 1e-5 },
    ];
  });
}

/**
 * e2e/kernels/optim.spec.ts: 3 steps of `rule` on parameters of `counts` elements, the learning rate halved at step 3;
 * each step's w and state within 1e-5 of the reference's, relative to the operands (a step is new = a·old + delta).
 */
async function optimizer(gpu: GpuContext, rule: OptimizerRule, counts: number[], elementsPerLane?: number): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(21 + counts[0]!);
  const decayOf: Record<string, string> = { velocity: 'momentum', cache: 'decayRate', m: 'beta1', v: 'beta2' };
  const worst: Record<string, number> = { w: 0 };
  const mags = new Map<string, Float64Array>();
  const stepError = (key: string, got: Float32Array, want: Float64Array, old: Float64Array, a: number) => {
    const mag = mags.get(key) ?? new Float64Array(want.length);
    mags.set(key, mag);
    let e = 0;
    for (let i = 0; i < want.length; i++) {
      mag[i] += Math.abs(a * old[i]!) + Math.abs(want[i]! - a * old[i]!);
      const ei = Math.abs(got[i]! - want[i]!) / Math.max(1e-30, mag[i]!);
      if (!(ei <= e)) e = Number.isNaN(ei) ? Infinity : ei;
    }
    return e;
  };
  return withScope(gpu, async (scope) => {
    const ws: Float64Array[] = counts.map((c) => Float64Array.from(Float32Array.from(rng.randnTensor([c]).data)));
    const wb = ws.map((w, k) => scope.createTensorBuffer(Float32Array.from(w), `w${k}`));
    const dwb = counts.map((c, k) => scope.createTensorBuffer(c * 4, `dw${k}`));
    // L2 folded in on the odd parameters; their dw take w's sign, so dw + reg·w does not cancel (see the spec)
    const regs = counts.map((_, k) => (k % 2 ? 0.37 : 0));
    const params = counts.map((count, k) => ({ name: `p${k}`, w: wb[k]!, dw: dwb[k]!, count, reg: regs[k] }));
    const opt = await createOptimizer(scope, rule, {}, params, { elementsPerLane });
    const refConfigs: Record<string, unknown>[] = counts.map(() => ({}));
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
      await runDispatches(gpu, opt.dispatches, `selftest ${rule} step ${step}`);
      for (let k = 0; k < counts.length; k++) {
        const dwL2 = dws[k]!.map((g, i) => g + regs[k]! * ws[k]![i]!);
        const { nextW, config } = ref.updateRules[rule](ws[k]!, dwL2, refConfigs[k] as never);
        worst.w = Math.max(worst.w!, stepError(`w${k}`, await readF32(gpu, wb[k]!, counts[k]!), nextW, ws[k]!, 1));
        const next = config as unknown as Record<string, Float64Array | number>;
        for (const key of Object.keys(opt.state)) {
          const old = (refConfigs[k]![key] as Float64Array | undefined) ?? new Float64Array(counts[k]!);
          const got = await readF32(gpu, opt.state[key]![k]!, counts[k]!);
          const e = stepError(`${key}${k}`, got, next[key] as Float64Array, old, next[decayOf[key]!] as number);
          worst[key] = Math.max(worst[key] ?? 0, e);
        }
        ws[k] = nextW;
        refConfigs[k] = next;
      }
    }
    return Object.entries(worst).map(([what, error]) => ({ what, error, tolerance: 1e-5 }));
  });
}

/** Labels of `count` rows gathered beside them (e2e/kernels/gather.spec.ts): the label of each index, exact. */
function makeLabels(scope: GpuScope, rng: ReturnType<typeof ref.makeRng>, count: number, batch: number) {
  const host = Uint32Array.from({ length: count }, () => rng.randint(1000));
  const y = scope.createTensorBuffer(host, 'labels');
  const out = scope.createTensorBuffer(new Uint32Array(batch).fill(0xffffffff), 'labels out');
  return {
    y,
    out,
    async measure(gpu: GpuContext, indices: Uint32Array): Promise<SelfTestMeasure> {
      const got = new Uint32Array(await readBuffer(gpu, out, batch * 4));
      return { what: 'labels (exact)', error: Array.from(indices).filter((k, i) => got[i] !== host[k]).length, tolerance: 0 };
    },
  };
}

/** e2e/kernels/gather.spec.ts: out[i, j] = images[indices[i], j] - mean[j] from packed uint8, exact in f32 (chunks of `chunkRows`). */
async function gather(gpu: GpuContext, count: number, dim: number, batch: number, chunkRows?: number): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(31 + count);
  const bytes = Uint8Array.from({ length: count * dim }, () => rng.randint(256));
  const mean = Float32Array.from({ length: dim }, () => 255 * rng.uniform());
  const indices = Uint32Array.from({ length: batch }, (_, i) => (i === 0 ? count - 1 : i === 1 ? 0 : rng.randint(count)));
  return withScope(gpu, async (scope) => {
    const rowsPer = chunkRows ?? count;
    const images = Array.from({ length: Math.ceil(count / rowsPer) }, (_, c) =>
      scope.createTensorBuffer(packUint8(bytes.subarray(c * rowsPer * dim, Math.min(count, (c + 1) * rowsPer) * dim)), `images${c}`),
    );
    const out = scope.createTensorBuffer(new Float32Array(batch * dim).fill(NaN), 'out');
    const labels = makeLabels(scope, rng, count, batch);
    const list = await createGather(scope, {
      ...{ images: chunkRows ? images : images[0]!, chunkRows, out, batch, dim, count, labels },
      ...{ mean: scope.createTensorBuffer(mean, 'mean'), indices: scope.createTensorBuffer(indices, 'indices') },
    });
    await runDispatches(gpu, list, 'selftest gather');
    const got = await readF32(gpu, out, batch * dim);
    let worst = 0;
    for (let i = 0; i < batch * dim; i++) {
      const e = Math.abs(got[i]! - Math.fround(bytes[indices[Math.floor(i / dim)]! * dim + (i % dim)]! - mean[i % dim]!));
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
    return [{ what: 'out (exact)', error: worst, tolerance: 0 }, await labels.measure(gpu, indices)];
  });
}

/** e2e/kernels/gather.spec.ts: 32-bit rows copied by index, exact (from chunks of `chunkRows` rows). */
async function gatherRows(gpu: GpuContext, rows: number, dim: number, batch: number, chunkRows?: number): Promise<SelfTestMeasure[]> {
  const rng = ref.makeRng(5 + rows);
  const src = Float32Array.from({ length: rows * dim }, () => rng.randn());
  const indices = Uint32Array.from({ length: batch }, (_, i) => (i === 0 ? rows - 1 : rng.randint(rows)));
  return withScope(gpu, async (scope) => {
    const rowsPer = chunkRows ?? rows;
    const chunks = Array.from({ length: Math.ceil(rows / rowsPer) }, (_, c) =>
      scope.createTensorBuffer(src.slice(c * rowsPer * dim, Math.min(rows, (c + 1) * rowsPer) * dim), `src${c}`),
    );
    const out = scope.createTensorBuffer(new Float32Array(batch * dim).fill(NaN), 'out');
    const labels = makeLabels(scope, rng, rows, batch);
    const list = await createGatherRows(scope, {
      ...{ src: chunkRows ? chunks : chunks[0]!, chunkRows, out, batch, dim, rows, labels },
      indices: scope.createTensorBuffer(indices, 'indices'),
    });
    await runDispatches(gpu, list, 'selftest gather rows');
    const got = await readF32(gpu, out, batch * dim);
    let worst = 0;
    for (let i = 0; i < batch * dim; i++) {
      const e = Math.abs(got[i]! - src[indices[Math.floor(i / dim)]! * dim + (i % dim)]!);
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
    return [{ what: 'out (exact)', error: worst, tolerance: 0 }, await labels.measure(gpu, indices)];
  });
}

/**
 * Softmax loss (large shifted scores too), sgd / sgd_momentum / rmsprop / adam, the image gather (scalar and 16-pixel
 * paths, one and several chunks) and the row gather.
 *   const cases = makeLossOptimGatherCases();
 *   await cases[0].run(gpu); // [{ what: 'loss', ... }, { what: 'dscores', ... }]
 */
export function makeLossOptimGatherCases(): SelfTestCase[] {
  const cases: SelfTestCase[] = [];
  for (const [n, c, shift] of [
    [7, 3, 0],
    [257, 101, 1000],
  ] as const)
    cases.push({
      kernel: 'softmax loss',
      variant: shift ? `scores + ${shift}` : 'plain',
      shape: `${n}x${c}`,
      run: (g) => softmax(g, n, c, shift),
    });
  // the head fused in front, at the workgroup sizes a CPU adapter and a GPU pick
  for (const workgroupSize of [64, 256])
    cases.push({
      kernel: 'softmax loss',
      variant: `affine head fused, wg ${workgroupSize}`,
      shape: '37x7 from 53',
      run: (g) => affineSoftmax(g, 37, 7, 53, workgroupSize),
    });
  for (const rule of ['sgd', 'sgd_momentum', 'rmsprop', 'adam'] as const)
    cases.push({
      kernel: 'optimizer',
      variant: `${rule}, 3 steps, L2`,
      shape: '1 + 1001 + 37',
      run: (g) => optimizer(g, rule, [1, 1001, 37]),
    });
  // the GPUs' setting, 8 elements a lane: 5003 floats over 10 workgroups, 5000 (as vec4s) over 3
  for (const rule of ['sgd_momentum', 'adam'] as const)
    cases.push({
      kernel: 'optimizer',
      variant: `${rule}, 3 steps, L2, 8 elements a lane`,
      shape: '1 + 5003 + 5000',
      run: (g) => optimizer(g, rule, [1, 5003, 5000], 8),
    });
  for (const [count, dim, batch, chunkRows] of [
    [37, 3072, 50],
    [101, 13, 200],
    [101, 13, 200, 40],
  ] as const)
    cases.push({
      kernel: 'gather images',
      variant: `${dim % 16 === 0 ? '16 pixels' : 'scalar'}, ${chunkRows ? 'several chunks' : 'one chunk'}`,
      shape: `${batch} of ${count}x${dim}`,
      run: (g) => gather(g, count, dim, batch, chunkRows),
    });
  for (const [rows, dim, batch, chunkRows] of [
    [7, 5, 4],
    [11, 13, 9, 4],
  ] as const)
    cases.push({
      kernel: 'gather rows',
      variant: chunkRows ? 'several chunks' : 'one chunk',
      shape: `${batch} of ${rows}x${dim}`,
      run: (g) => gatherRows(g, rows, dim, batch, chunkRows),
    });
  return cases;
}
