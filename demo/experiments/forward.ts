// The seed's cells 3 and 4, DOM-free: batchnorm forward of a 2-layer net's activations, train and test mode, GPU beside the float64 reference.
import { reference, type GpuContext } from '../../src/index.ts';
import { createBatchNormForward, createScope, readF32, runDispatches, type GpuScope } from '../../src/engine.ts';
import type { PanelSettings } from '../url-state.ts';
import { adapterRecord, type ExperimentEnv, type ProgressSink } from './common.ts';
import type { PassGate } from './pass-gate.ts';

// The float64 reference (its names are the GPU host forms' too, so they come from the `reference` namespace).
const { affineForward, reluForward, forwardBatchNormalization, makeRng, makeTensor } = reference;
type BnParam = reference.BnParam;
type Rng = reference.Rng;
type Tensor = reference.Tensor;

/**
 * Per-column mean and (population, numpy's default) standard deviation of a row-major [n, d] array.
 *   columnStats([1, 2, 3, 4], 2, 2); // { means: [2, 3], stds: [1, 1] }
 *   columnStats(out, 200, 50).stds;  // ~1 after batchnorm with gamma 1
 */
export function columnStats(data: ArrayLike<number>, n: number, d: number): { means: number[]; stds: number[] } {
  const means = new Array<number>(d).fill(0);
  const vars = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[j]! += data[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) vars[j]! += (data[i * d + j]! - means[j]!) ** 2 / n;
  return { means, stds: vars.map(Math.sqrt) };
}

/**
 * How far the GPU's float32 output is from the float64 reference: max |diff| and ||diff|| / ||ref||.
 *   compare([1, 2.001], [1, 2]);   // { maxAbs: ~1e-3, normRatio: ~4.5e-4 }
 *   compare(gpuOut, refOut).maxAbs; // ~1e-6 at the seed's sizes
 */
export function compare(gpu: ArrayLike<number>, ref: ArrayLike<number>): { maxAbs: number; normRatio: number } {
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = gpu[i]! - ref[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(e));
    num += e * e;
    den += ref[i]! * ref[i]!;
  }
  return { maxAbs, normRatio: Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30) };
}

export interface CaseResult {
  name: string;
  title: string;
  cpu: { means: number[]; stds: number[] };
  gpu?: { means: number[]; stds: number[] };
  error?: { maxAbs: number; normRatio: number };
}

/** The forward check's results record. */
export interface ForwardResult {
  experiment: 'forward';
  settings: PanelSettings;
  adapter: Record<string, unknown>;
  cases: CaseResult[];
  worstNormRatio: number;
}

/** `a = relu(X W1) W2` for a fresh X [n, d1], the seed's two-layer activations (no biases). */
function activations(rng: Rng, n: number, d1: number, w1: Tensor, w2: Tensor): Tensor {
  const x = rng.randnTensor([n, d1]);
  const h1 = reluForward(affineForward(x, w1, makeTensor([w1.shape[1]!])).out).out;
  return affineForward(h1, w2, makeTensor([w2.shape[1]!])).out;
}

/** Batchnorm forward on the GPU for host data; the running statistics live in `running` across calls. */
async function gpuForward(
  gpu: GpuContext,
  a: Tensor,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  mode: 'train' | 'test',
  running: { mean: GPUBuffer; var: GPUBuffer },
): Promise<Float32Array> {
  const [n, d] = a.shape as [number, number];
  const scope: GpuScope = createScope(gpu);
  try {
    const x = scope.createTensorBuffer(Float32Array.from(a.data), 'a');
    const out = scope.createTensorBuffer(n * d * 4, 'out');
    const list = await createBatchNormForward(scope, {
      x,
      out,
      n,
      d,
      mode,
      runningMean: running.mean,
      runningVar: running.var,
      gamma: scope.createTensorBuffer(Float32Array.from(gamma), 'gamma'),
      beta: scope.createTensorBuffer(Float32Array.from(beta), 'beta'),
    });
    await runDispatches(gpu, list, `forward check ${mode}`);
    return await readF32(gpu, out, n * d);
  } finally {
    scope.destroy();
  }
}

export interface ForwardHooks {
  progress: ProgressSink;
  gate: PassGate;
  /** The cases so far, after each one. */
  onCases?(cases: CaseResult[]): void;
}

/**
 * Cell 3 (train mode, trivial and non-trivial gamma/beta) and cell 4 (test mode after warm-up batches), each on the
 * GPU and in the float64 reference: means, stds and the GPU's error. Null when stopped.
 *   const r = await runForwardCheck(settings, { kind: 'gpu', gpu }, { progress, gate: createPassGate() });
 *   r?.worstNormRatio; // ~1e-7
 */
export async function runForwardCheck(s: PanelSettings, env: ExperimentEnv, hooks: ForwardHooks): Promise<ForwardResult | null> {
  const { gpu } = env;
  if (!gpu) throw new Error(`the GPU side needs WebGPU: ${env.gpuError ?? 'no device'}`);
  const { progress, gate } = hooks;
  const results: CaseResult[] = [];
  const show = () => hooks.onCases?.(results);
  const pass = async () => {
    await env.yieldToEventLoop?.();
    await gate.wait();
    return gate.stopped;
  };
  const n = s.n as number,
    d1 = s.d1 as number,
    d2 = s.d2 as number,
    d3 = s.d3 as number,
    warmup = s.warmup as number;
  const total = 3 + warmup;
  let done = 0;
  const tick = () => progress.setProgress(++done, total, 'passes');
  const scope = createScope(gpu);
  try {
    const rng = makeRng(s.seed as number);
    const ones = new Float64Array(d3).fill(1);
    const zeros = new Float64Array(d3);
    // cell 3: train mode
    progress.setDetail('cell 3: train-mode forward');
    const w1 = rng.randnTensor([d1, d2]);
    const w2 = rng.randnTensor([d2, d3]);
    const a = activations(rng, n, d1, w1, w2);
    results.push({ name: 'before', title: 'before batchnorm', cpu: columnStats(a.data, n, d3) });
    const gammas = Float64Array.from({ length: d3 }, (_, j) => j + 1);
    const betas = Float64Array.from({ length: d3 }, (_, j) => 11 + j);
    for (const [name, title, gamma, beta] of [
      ['train', 'after, train mode (gamma = 1, beta = 0)', ones, zeros],
      ['train-affine', `after, train mode (gamma = [1..${d3}], beta = [11..${10 + d3}])`, gammas, betas],
    ] as const) {
      if (await pass()) return null;
      const ref = forwardBatchNormalization(a, gamma, beta, { mode: 'train' }).out;
      const running = { mean: scope.createTensorBuffer(d3 * 4, 'running mean'), var: scope.createTensorBuffer(d3 * 4, 'running var') };
      const out = await gpuForward(gpu, a, gamma, beta, 'train', running);
      results.push({ name, title, cpu: columnStats(ref.data, n, d3), gpu: columnStats(out, n, d3), error: compare(out, ref.data) });
      show();
      tick();
    }
    // cell 4: test mode after `warmup` train-mode batches warm the running averages (both sides see the same batches)
    progress.setDetail(`cell 4: ${warmup} warm-up batches, then a test-mode forward`);
    const v1 = rng.randnTensor([d1, d2]);
    const v2 = rng.randnTensor([d2, d3]);
    const bnParam: BnParam = { mode: 'train' };
    const running = { mean: scope.createTensorBuffer(d3 * 4, 'running mean'), var: scope.createTensorBuffer(d3 * 4, 'running var') };
    for (let t = 0; t < warmup; t++) {
      if (await pass()) return null;
      const batch = activations(rng, n, d1, v1, v2);
      forwardBatchNormalization(batch, ones, zeros, bnParam);
      await gpuForward(gpu, batch, ones, zeros, 'train', running);
      tick();
    }
    if (await pass()) return null;
    bnParam.mode = 'test';
    const aTest = activations(rng, n, d1, v1, v2);
    const ref = forwardBatchNormalization(aTest, ones, zeros, bnParam).out;
    const out = await gpuForward(gpu, aTest, ones, zeros, 'test', running);
    results.push({
      name: 'test',
      title: `after, test mode (running averages of ${warmup} batches)`,
      cpu: columnStats(ref.data, n, d3),
      gpu: columnStats(out, n, d3),
      error: compare(out, ref.data),
    });
    tick();
    show();
    const worst = Math.max(...results.filter((r) => r.error).map((r) => r.error!.normRatio));
    progress.setDetail('');
    return { experiment: 'forward', settings: s, adapter: adapterRecord(env), cases: results, worstNormRatio: worst };
  } finally {
    scope.destroy();
  }
}

/**
 * The CSV of the forward check: one row per case and feature.
 *   forwardCsvRows(result.cases)[0]; // { case: 'before', feature: 0, cpuMean: ..., cpuStd: ..., gpuMean: '', gpuStd: '' }
 */
export function forwardCsvRows(cases: CaseResult[]): Record<string, unknown>[] {
  return cases.flatMap((r) =>
    r.cpu.means.map((_, j) => ({
      case: r.name,
      feature: j,
      cpuMean: r.cpu.means[j],
      cpuStd: r.cpu.stds[j],
      gpuMean: r.gpu?.means[j] ?? '',
      gpuStd: r.gpu?.stds[j] ?? '',
    })),
  );
}
