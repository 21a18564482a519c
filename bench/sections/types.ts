// What a benchmark section is: a named async function of a GPU context and options that returns plain JSON.
import type { GpuContext, SolverData } from '../../src/index.ts';
import type { TrainingPeer } from './training.ts';

/** A peer implementation timed beside ours (only where it can run: TF.js needs the browser). */
export interface MatmulPeer {
  name: string;
  /** How the peer was timed, e.g. 'tf.time kernelMs (timestamp-query)'. */
  timer: string;
  /** Median and best milliseconds of one op(A)·op(B) with A, B stored as given (row-major f32), after its own warmup. */
  time(
    s: { m: number; n: number; k: number; transA: boolean; transB: boolean },
    reps: number,
  ): Promise<{ medianMs: number; minMs: number }>;
}

export interface BenchOptions {
  /** Timed repetitions per figure (the median is reported). */
  reps: number;
  /** `large` adds the GPU-sized shapes to each section (see `--sizes` in bench/args.ts); default when absent. */
  sizes?: 'default' | 'large';
  /** Also time the alternatives (other kernel, no split-K) so a change can be judged. */
  detail: boolean;
  peers: { tfjsMatmul?: MatmulPeer; tfjsTraining?: TrainingPeer };
  /** CIFAR-10 for the experiments section (1000 training + 1000 validation images), when the runner has it. */
  loadData?: () => Promise<SolverData>;
  /** The sweep section's epochs (default: the seed's 10 on a GPU, 1 on a CPU adapter). */
  sweepEpochs?: number | null;
  /** The population-profile section's population sizes (`--models 20,100,1000`). */
  profileModels?: number[];
  /** Profile the plan a GPU adapter class would get (`--gpu-plan`), its kernels run on this adapter. */
  gpuPlan?: boolean;
  /** Profile grids and bytes without timing the launches (`--counts-only`). */
  countsOnly?: boolean;
  /** Progress lines (stderr in the CLI, the console in the page). */
  log(line: string): void;
}

/** One section of the benchmark; its result object is merged into the report (e.g. `{ matmul: [...] }`). */
export interface BenchSection {
  /** Name for `--only` (e.g. 'matmul', 'bn'). */
  name: string;
  run(gpu: GpuContext, opts: BenchOptions): Promise<Record<string, unknown>>;
}

/**
 * Fill `n` floats uniformly in [-1, 1) from a small seeded generator (benchmarks want data, not zeros).
 *   const x = makeRandom(50 * 3072, 1);
 *   x.length; // 153600
 */
export function makeRandom(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
