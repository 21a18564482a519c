// Experiment 1 (the seed's "very deep net with batchnorm"), DOM-free: batchnorm then baseline, trained in turn, and their records.
import type { Solver, SolverData, SolverProgress, TrainedNet } from '../../src/index.ts';
import type { PanelSettings } from '../url-state.ts';
import {
  adapterRecord,
  iterationsOf,
  trainOne,
  whereOf,
  type ExperimentEnv,
  type ModelLabel,
  type ProgressSink,
  type SolverGate,
  type TrainRecord,
} from './common.ts';

/** The seed's order: the batchnorm network first. */
export const batchnormLabels: ModelLabel[] = ['batchnorm', 'baseline'];

/** What the run tells its caller as it goes (the page draws live charts from these). */
export interface BatchnormHooks {
  progress: ProgressSink;
  gate: SolverGate;
  onStart?(label: ModelLabel, index: number): void;
  onProgress?(label: ModelLabel, p: SolverProgress, solver: Solver): void;
  /** A finished training; the model stays alive for export (the caller destroys it). */
  onRecord?(record: TrainRecord, model: TrainedNet): void;
}

/** Experiment 1's results record: what the page exports as JSON and the CLI writes. */
export interface BatchnormResult {
  experiment: 'batchnorm';
  settings: PanelSettings & { model: string };
  adapter: Record<string, unknown>;
  seconds: number;
  models: Record<string, TrainRecord>;
}

/**
 * Train both networks of experiment 1 with the settings; a stop ends it after the current training.
 *   const r = await runBatchnormExperiment(settings, data, { kind: 'gpu', gpu }, { progress, gate: createGate(), onRecord: (_r, m) => m.destroy() });
 *   r.models.batchnorm.bestValAcc;
 */
export async function runBatchnormExperiment(
  s: PanelSettings,
  data: SolverData,
  env: ExperimentEnv,
  hooks: BatchnormHooks,
): Promise<BatchnormResult> {
  const perModel = iterationsOf(s);
  const total = perModel * batchnormLabels.length;
  const records: TrainRecord[] = [];
  const t0 = performance.now();
  for (const [i, label] of batchnormLabels.entries()) {
    if (hooks.gate.stopped) break;
    hooks.onStart?.(label, i);
    hooks.progress.setDetail(
      `${label} network (${env.kind === 'gpu' ? 'WebGPU' : 'CPU float64 reference'}), ${i + 1} of ${batchnormLabels.length}`,
    );
    const { record, model } = await trainOne(env, {
      label,
      settings: s,
      weightScale: s.weightScale as number,
      data,
      gate: hooks.gate,
      onProgress: (p, solver) => {
        hooks.progress.setProgress(i * perModel + p.iteration, total);
        hooks.onProgress?.(label, p, solver);
      },
    });
    records.push(record);
    hooks.onRecord?.(record, model);
  }
  const seconds = (performance.now() - t0) / 1000;
  hooks.progress.setDetail(`${records.length} models trained in ${seconds.toFixed(1)} s on ${whereOf(env)}`);
  return {
    experiment: 'batchnorm',
    settings: { ...s, model: env.kind },
    adapter: adapterRecord(env),
    seconds,
    models: Object.fromEntries(records.map((r) => [r.label, r])),
  };
}

/**
 * The CSV of experiment 1's records, long format: one row per plotted point (model, series, x, value).
 *   batchnormCsvRows(Object.values(result.models))[0]; // { model: 'batchnorm', series: 'loss', x: 0, value: 2.30 }
 */
export function batchnormCsvRows(records: TrainRecord[]): Record<string, unknown>[] {
  return records.flatMap((m) => [
    ...m.lossHistory.map((value, x) => ({ model: m.label, series: 'loss', x, value })),
    ...m.trainAccHistory.map((value, x) => ({ model: m.label, series: 'trainAcc', x, value })),
    ...m.valAccHistory.map((value, x) => ({ model: m.label, series: 'valAcc', x, value })),
  ]);
}
