// The seed's cell 6 on the GPU, DOM-free: batchnorm backward as the staged graph vs the closed form, timed with timestamp queries.
import { reference } from '../../src/index.ts';
import {
  createBatchNormBackward,
  createBatchNormForward,
  createScope,
  batchNormBackwardBytes,
  encodeDispatches,
  isCpuAdapter,
  measureCopyBandwidth,
  profileDispatches,
  readF32,
  timeComputePasses,
  runDispatches,
  type Dispatch,
  type GpuContext,
} from '../../src/engine.ts';
import type { PanelSettings } from '../url-state.ts';
import { adapterRecord, type ExperimentEnv, type ProgressSink } from './common.ts';
import type { PassGate } from './pass-gate.ts';
import { compare } from './forward.ts';

// The float64 reference (its names are the GPU host forms' too, so they come from the `reference` namespace).
const { backwardBatchNormalization, backwardBatchNormalizationAlternative, forwardBatchNormalization, makeRng } = reference;

/** One pass of a backward variant: its GPU time (per-dispatch profiler), the bytes it must move, and its GB/s. */
export interface PassRecord {
  /** The dispatch label without the op's prefix: 'dbeta+dgamma', 'dxhat', 'dvar combine', 'columns: sums + dx'... */
  label: string;
  ms: number;
  bytes: number;
  /** bytes / ms / 1e6 (1e9 bytes per second). */
  gbps: number;
}

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
  /** Each variant's passes, each timed alone in its own compute pass (`passTimer`). */
  graphPasses: PassRecord[];
  alternativePasses: PassRecord[];
  passTimer: string;
}

/** The copy roof of the run: a vec4 copy kernel (and copyBufferToBuffer) over `copyBytes`, 2 * bytes per copy. */
export interface CopyRoof {
  copyBytes: number;
  copyGbps: number;
  copyBufferGbps: number;
  copyTimer: string;
}

/** The speedup benchmark's results record. */
export interface SpeedupResult {
  experiment: 'speedup';
  settings: { sizes: string[]; reps: number };
  adapter: Record<string, unknown>;
  rows: SpeedupRow[];
  /** The adapter's copy bandwidth in GB/s, measured by the copy kernel in the same run: the roof of every pass. */
  copyGbps: number;
  copy: CopyRoof;
}

/**
 * The copy probe's buffer: 64 MiB on a GPU (past its caches: the DRAM roof), 4 MiB on a software adapter (which
 * copies at about 1 GB/s), or 4 times the largest n * d array where that is more; within the binding limit.
 */
function copyProbeBytes(gpu: GpuContext, sizes: [number, number][]): number {
  const largest = Math.max(...sizes.map(([n, d]) => n * d * 4));
  const floor = isCpuAdapter(gpu.adapter) ? 4 << 20 : 64 << 20;
  const bytes = Math.min(gpu.device.limits.maxStorageBufferBindingSize, Math.max(floor, 4 * largest));
  return Math.floor(bytes / 16) * 16;
}

/**
 * Profile a backward list pass by pass and put each pass's bytes (batchNormBackwardBytes) beside its time.
 *   const { passes, kind } = await profilePasses(gpu, graph, 100, 500, 10);
 *   passes[0]; // { label: 'dbeta+dgamma', ms, bytes, gbps }
 */
export async function profilePasses(
  gpu: GpuContext,
  list: Dispatch[],
  n: number,
  d: number,
  reps: number,
): Promise<{ passes: PassRecord[]; kind: string }> {
  const bytes = batchNormBackwardBytes(list, n, d);
  const p = await profileDispatches(gpu, list, { reps });
  const prefix = /^batchnorm\.backward\([^)]*\) n=\d+ d=\d+ /;
  const passes = p.dispatches.map((x, k) => ({
    label: x.label.replace(prefix, ''),
    ms: x.medianMs,
    bytes: bytes[k]!,
    gbps: bytes[k]! / (x.medianMs * 1e6),
  }));
  return { passes, kind: p.kind };
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
  progress.setDetail('measuring the copy roof');
  const roof = await measureCopyBandwidth(gpu, { bytes: copyProbeBytes(gpu, sizes), reps });
  const copy: CopyRoof = {
    copyBytes: roof.bytes,
    copyGbps: roof.kernelGbps,
    copyBufferGbps: roof.copyBufferGbps,
    copyTimer: roof.kind,
  };
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
      // the seed's staged graph, one pass per node group (graphInOne: false; training runs a one-chunk batch's nodes in
      // one dispatch), so the passes panel shows what each node costs against the closed form's one pass
      const graph = await createBatchNormBackward(scope, {
        ...common,
        dx: dxGraph,
        variant: 'graph',
        x: xb,
        mean: saved.mean,
        graphInOne: false,
      });
      const alternative = await createBatchNormBackward(scope, { ...common, dx: dxAlt, variant: 'alternative' });
      const tg = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, graph), { reps });
      await env.yieldToEventLoop?.();
      const ta = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, alternative), { reps });
      await env.yieldToEventLoop?.();
      const pg = await profilePasses(gpu, graph, n, d, reps);
      const pa = await profilePasses(gpu, alternative, n, d, reps);
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
        graphPasses: pg.passes,
        alternativePasses: pa.passes,
        passTimer: pg.kind,
      });
    } finally {
      scope.destroy();
    }
    hooks.onRows?.(rows);
    progress.setProgress(i + 1, sizes.length, 'sizes');
  }
  progress.setDetail('');
  return {
    experiment: 'speedup',
    settings: { sizes: sizes.map(([n, d]) => `${n}x${d}`), reps },
    adapter: adapterRecord(env),
    rows,
    copyGbps: copy.copyGbps,
    copy,
  };
}

/**
 * The CSV of the speedup benchmark: a 'size' row per size, then a 'pass' row per pass of each variant, all with the
 * same columns (the other kind's blank) and the run's copy roof.
 *   speedupCsvRows(result.rows, result.copy);
 *   // [{ kind: 'size', n: 100, d: 500, graphMs, ..., label: null }, { kind: 'pass', variant: 'graph', label: 'dxhat', ms, bytes, gbps, ... }]
 */
export function speedupCsvRows(rows: SpeedupRow[], copy?: CopyRoof): Record<string, unknown>[] {
  const blankSize = { timer: null, graphMs: null, alternativeMs: null, speedup: null, dxDifference: null };
  const blankCpu = { cpuGraphMs: null, cpuAlternativeMs: null, cpuSpeedup: null, passTimer: null };
  const blankPass = { variant: null, label: null, ms: null, bytes: null, gbps: null, roofFraction: null };
  const roof = { copyGbps: copy?.copyGbps ?? null, copyBufferGbps: copy?.copyBufferGbps ?? null };
  return rows.flatMap(({ graphPasses, alternativePasses, ...r }) => [
    { kind: 'size', ...r, ...blankPass, ...roof },
    ...(['graph', 'alternative'] as const).flatMap((variant) =>
      (variant === 'graph' ? graphPasses : alternativePasses).map((p) => ({
        kind: 'pass',
        n: r.n,
        d: r.d,
        ...blankSize,
        ...blankCpu,
        passTimer: r.passTimer,
        variant,
        ...p,
        roofFraction: copy ? p.gbps / copy.copyGbps : null,
        ...roof,
      })),
    ),
  ]);
}
