// cs231n's batch-size experiments (run_batchsize_experiments), DOM-free: a baseline and batchnorm / layer norm nets at several batch sizes.
import type { Normalization, Solver, SolverData, SolverProgress, TrainedNet } from '../../src/index.ts';
import type { PanelSettings } from '../url-state.ts';
import {
  adapterRecord,
  iterationsOf,
  trainOne,
  whereOf,
  type ExperimentEnv,
  type ProgressSink,
  type SolverGate,
  type TrainRecord,
} from './common.ts';

/** One training of the experiment: which normalization, at which batch size. */
export interface BatchRun {
  label: string;
  normalization: Normalization;
  batchSize: number;
}

/**
 * The runs that settings ask for, in cs231n's order: the baseline (no normalization) first, then each normalized
 * net at each batch size; `normalization: 'both'` runs both experiments with one shared baseline.
 *   batchRuns({ normalization: 'batchnorm', batchSizes: [5, 10, 50], baselineBatch: 5 }); // baseline@5, batchnorm@5, @10, @50
 */
export function batchRuns(s: PanelSettings): BatchRun[] {
  const which = s.normalization === 'both' ? (['batchnorm', 'layernorm'] as const) : [s.normalization as 'batchnorm' | 'layernorm'];
  const runs: BatchRun[] = [{ label: `baseline, batch ${s.baselineBatch}`, normalization: null, batchSize: s.baselineBatch as number }];
  for (const n of which) for (const b of s.batchSizes as number[]) runs.push({ label: `${n}, batch ${b}`, normalization: n, batchSize: b });
  return runs;
}

export interface BatchSizeHooks {
  progress: ProgressSink;
  gate: SolverGate;
  onStart?(index: number, run: BatchRun): void;
  onProgress?(index: number, p: SolverProgress, solver: Solver): void;
  /** A finished training; the model stays alive for export (the caller destroys it). */
  onRecord?(index: number, record: TrainRecord, model: TrainedNet): void;
}

/** The batch-size experiments' results record. */
export interface BatchSizeResult {
  experiment: 'batchsize';
  settings: PanelSettings & { model: string };
  adapter: Record<string, unknown>;
  seconds: number;
  runs: TrainRecord[];
}

/**
 * Train `batchRuns(settings)` one after another.
 *   const r = await runBatchSize(settings, data, { kind: 'gpu', gpu }, { progress, gate: createGate(), onRecord: (_i, _r, m) => m.destroy() });
 *   r.runs.map((x) => x.bestValAcc);
 */
export async function runBatchSize(
  s: PanelSettings,
  data: SolverData,
  env: ExperimentEnv,
  hooks: BatchSizeHooks,
): Promise<BatchSizeResult> {
  const runs = batchRuns(s);
  const total = runs.reduce((a, r) => a + iterationsOf(s, r.batchSize), 0);
  const records: TrainRecord[] = [];
  let before = 0;
  const t0 = performance.now();
  for (const [i, r] of runs.entries()) {
    if (hooks.gate.stopped) break;
    hooks.onStart?.(i, r);
    hooks.progress.setDetail(`${r.label} (${env.kind === 'gpu' ? 'WebGPU' : 'CPU float64 reference'}), run ${i + 1} of ${runs.length}`);
    const { record, model } = await trainOne(env, {
      label: r.label,
      normalization: r.normalization,
      batchSize: r.batchSize,
      settings: s,
      weightScale: s.weightScale as number,
      data,
      gate: hooks.gate,
      onProgress: (p, solver) => {
        hooks.progress.setProgress(before + p.iteration, total);
        hooks.onProgress?.(i, p, solver);
      },
    });
    before += iterationsOf(s, r.batchSize);
    records.push(record);
    hooks.onRecord?.(i, record, model);
  }
  const seconds = (performance.now() - t0) / 1000;
  hooks.progress.setDetail(`${records.length} networks trained in ${seconds.toFixed(1)} s on ${whereOf(env)}`);
  return { experiment: 'batchsize', settings: { ...s, model: env.kind }, adapter: adapterRecord(env), seconds, runs: records };
}

/**
 * The CSV of the batch-size runs, long format: one row per accuracy point.
 *   toCsv(batchSizeCsvRows(result.runs));
 *   batchSizeCsvRows(result.runs)[0]; // { run: 'baseline, batch 5', normalization: 'none', batchSize: 5, series: 'trainAcc', x: 0, value: 0.1 }
 */
export function batchSizeCsvRows(records: TrainRecord[]): Record<string, unknown>[] {
  return records.flatMap((r) =>
    (['trainAcc', 'valAcc'] as const).flatMap((series) =>
      r[`${series}History`].map((value, x) => ({
        run: r.label,
        normalization: r.normalization ?? 'none',
        batchSize: r.batchSize,
        series,
        x,
        value,
      })),
    ),
  );
}
