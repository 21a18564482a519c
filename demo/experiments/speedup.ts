// The seed's cell 6 on the GPU, DOM-free: batchnorm backward as the staged graph vs the closed form, timed with timestamp queries.
import { reference } from '../../src/index.ts';
import {
  createBatchNormBackward,
  createBatchNormForward,
  createScope,
  encodeDispatches,
  readF32,
  timeComputePasses,
  runDispatches,
} from '../../src/engine.ts';
import type { PanelSettings } from '../url-state.ts';
import { adapterRecord, type ExperimentEnv, type PassGate, type ProgressSink } from './common.ts';
import { compare } from './forward.ts';

// The float64 reference (its names are the GPU host forms' too, so they come from the `reference` namespace).
const { backwardBatchNormalization, backwardBatchNormalizationAlternative, forwardBatchNormalization, makeRng } = reference;

export interface SpeedupRow {
  n: number;
  d: number;
  timer: string;
  graphMs: number;
  alternativeMs: number;
  /** graph time / alternative time (> 1: the closed form is faster). */
  speedup: number;
  /** ‖dx_graph − dx_alt‖ / ‖dx_alt‖ on the GPU. */
  dxDifference: number;
  cpuGraphMs: number;
  cpuAlternativeMs: number;
  cpuSpeedup: number;
}

/** The speedup benchmark's results record. */
export interface SpeedupResult {
  experiment: 'speedup';
  settings: { sizes: string[]; reps: number };
  adapter: Record<string, unknown>;
  rows: SpeedupRow[];
}

/** Median wall time of `f` over `reps` runs (ms). */
function timeCpu(f: () => void, reps: number): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

export interface SpeedupHooks {
  progress: ProgressSink;
  gate: PassGate;
  /** The rows so far, after each size. */
  onRows?(rows: SpeedupRow[]): void;
}

/**
 * For each N×D, the same train-mode cache on the GPU, both backward variants timed per pass, their dx compared,
 * and the float64 CPU reference timed the seed's way beside them. Null when stopped.
 *   const r = await runSpeedup(settings, { kind: 'gpu', gpu }, { progress, gate: createPassGate() });
 *   r?.rows[0].speedup;
 */
export async function runSpeedup(s: PanelSettings, env: ExperimentEnv, hooks: SpeedupHooks): Promise<SpeedupResult | null> {
  const { gpu } = env;
  if (!gpu) throw new Error(`the benchmark needs WebGPU: ${env.gpuError ?? 'no device'}`);
  const { progress, gate } = hooks;
  const sizes = s.sizes as [number, number][];
  const reps = s.reps as number;
  const rows: SpeedupRow[] = [];
  for (const [i, [n, d]] of sizes.entries()) {
    await env.yieldToEventLoop?.();
    await gate.wait();
    if (gate.stopped) return null;
    progress.setDetail(`${n} × ${d}: timing both variants (${reps} passes each)`);
    const rng = makeRng(i + 1);
    const x = rng.randnTensor([n, d], 5, 12);
    const gamma = rng.randnTensor([d]).data;
    const beta = rng.randnTensor([d]).data;
    const dout = rng.randnTensor([n, d]);
    const scope = createScope(gpu);
    try {
      const buf = (data: ArrayLike<number> | number, label: string) =>
        scope.createTensorBuffer(typeof data === 'number' ? data : Float32Array.from(data), label);
      const xb = buf(x.data, 'x');
      const gb = buf(gamma, 'gamma');
      const saved = { mean: buf(d * 4, 'mean'), invStd: buf(d * 4, 'invStd'), xhat: buf(n * d * 4, 'xhat') };
      const fwd = await createBatchNormForward(scope, {
        x: xb,
        gamma: gb,
        beta: buf(beta, 'beta'),
        out: buf(n * d * 4, 'out'),
        runningMean: buf(d * 4, 'rm'),
        runningVar: buf(d * 4, 'rv'),
        n,
        d,
        mode: 'train',
        saved,
      });
      await runDispatches(gpu, fwd, 'speedup forward');
      const common = {
        dout: buf(dout.data, 'dout'),
        xhat: saved.xhat,
        invStd: saved.invStd,
        gamma: gb,
        dgamma: buf(d * 4, 'dgamma'),
        dbeta: buf(d * 4, 'dbeta'),
        n,
        d,
      };
      const dxGraph = buf(n * d * 4, 'dx graph');
      const dxAlt = buf(n * d * 4, 'dx alternative');
      const graph = await createBatchNormBackward(scope, { ...common, dx: dxGraph, variant: 'graph', x: xb, mean: saved.mean });
      const alternative = await createBatchNormBackward(scope, { ...common, dx: dxAlt, variant: 'alternative' });
      const tg = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, graph), { reps });
      await env.yieldToEventLoop?.();
      const ta = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, alternative), { reps });
      const diff = compare(await readF32(gpu, dxGraph, n * d), await readF32(gpu, dxAlt, n * d)).normRatio;
      // the seed's measurement: the two float64 functions on the CPU, timed around each call
      await env.yieldToEventLoop?.();
      const { cache } = forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
      const cpuReps = Math.max(1, Math.min(reps, Math.floor(2e6 / (n * d))));
      const cg = timeCpu(() => backwardBatchNormalization(dout, cache), cpuReps);
      const ca = timeCpu(() => backwardBatchNormalizationAlternative(dout, cache), cpuReps);
      rows.push({
        n,
        d,
        timer: tg.kind,
        graphMs: tg.medianMs,
        alternativeMs: ta.medianMs,
        speedup: tg.medianMs / ta.medianMs,
        dxDifference: diff,
        cpuGraphMs: cg,
        cpuAlternativeMs: ca,
        cpuSpeedup: cg / ca,
      });
    } finally {
      scope.destroy();
    }
    hooks.onRows?.(rows);
    progress.setProgress(i + 1, sizes.length, 'sizes');
  }
  progress.setDetail('');
  return { experiment: 'speedup', settings: { sizes: sizes.map(([n, d]) => `${n}x${d}`), reps }, adapter: adapterRecord(env), rows };
}

/** The CSV of the speedup benchmark: one row per size. */
export function speedupCsvRows(rows: SpeedupRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({ ...r }));
}
