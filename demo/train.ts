// One Solver run of one network as the training panels use it: live progress, pause/stop, and a record for export.
import type { GpuContext } from '../src/gpu/index.ts';
import { Solver, type SolverData, type SolverProgress, type SolverResult } from '../src/solver/index.ts';
import type { Normalization } from '../src/index.ts';
import { createModel, type DemoModel, type ModelKind } from './models.ts';
import type { PanelSettings } from './url-state.ts';

export type ModelLabel = 'baseline' | 'batchnorm';

/** What one training leaves behind: the Solver's histories and summary figures (the seed's plotted values). */
export interface TrainRecord {
  /** 'baseline' / 'batchnorm' in experiments 1 and 2; the batch-size runs are labelled by normalization and batch. */
  label: string;
  kind: ModelKind;
  normalization: Normalization;
  batchSize: number;
  weightScale: number;
  status: SolverResult['status'];
  divergedAt?: number;
  message: string;
  iterations: number;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestTrainAcc: number;
  /** Mean of the last 100 losses (the seed's "final training loss"); NaN when the run diverged. */
  finalLoss: number;
  seconds: number;
  stepsPerSecond: number;
}

/** The Solver being run now, so the panel's buttons reach it. */
export interface SolverGate {
  current: Solver | null;
  paused: boolean;
  stopped: boolean;
}

export function createGate(): SolverGate {
  return { current: null, paused: false, stopped: false };
}

export function pauseGate(g: SolverGate): void { g.paused = true; g.current?.pause(); }
export function resumeGate(g: SolverGate): void { g.paused = false; g.current?.resume(); }
export function stopGate(g: SolverGate): void { g.stopped = true; g.current?.abort(); }

/** Steps one training of these settings takes (the Solver's numIterations). */
export function iterationsOf(s: PanelSettings): number {
  return Math.max(Math.floor((s.numTrain as number) / (s.batchSize as number)), 1) * (s.epochs as number);
}

/** Mean of the last `k` values (all when fewer), as the seed's `np.mean(loss_history[-100:])`. */
export function meanOfLast(values: number[], k = 100): number {
  const tail = values.slice(-k);
  return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
}

export interface TrainArgs {
  kind: ModelKind;
  gpu: GpuContext | null;
  label: string;
  /** Default: batchnorm when the label is 'batchnorm', else none. */
  normalization?: Normalization;
  /** Default: the settings' batchSize. */
  batchSize?: number;
  settings: PanelSettings;
  weightScale: number;
  data: SolverData;
  gate: SolverGate;
  onProgress: (p: SolverProgress, solver: Solver) => void;
}

/**
 * Train one network with the seed's Solver settings; the model is returned alive (for safetensors) with its record.
 *   const { record, model } = await trainOne({ kind: 'gpu', gpu, label: 'batchnorm', settings, weightScale: 2e-2, data, gate, onProgress });
 *   model.destroy();
 */
export async function trainOne(a: TrainArgs): Promise<{ record: TrainRecord; model: DemoModel }> {
  const s = a.settings;
  const normalization = a.normalization !== undefined ? a.normalization : a.label === 'batchnorm' ? 'batchnorm' : null;
  const batchSize = a.batchSize ?? (s.batchSize as number);
  const model = await createModel(a.kind, a.gpu, s.hidden as number[], {
    normalization, weightScale: a.weightScale, seed: s.seed as number,
  });
  try {
    const solver: Solver = new Solver(model.model, a.data, {
      updateRule: s.updateRule as string,
      optimConfig: { learningRate: s.lr as number },
      batchSize,
      numEpochs: s.epochs as number,
      numTrainSamples: 1000,
      numValSamples: null,
      verbose: false,
      printEvery: 200,
      seed: s.seed as number,
      onProgress: (p) => a.onProgress(p, solver),
    });
    a.gate.current = solver;
    if (a.gate.paused) solver.pause();
    if (a.gate.stopped) solver.abort();
    const r = await solver.train();
    a.gate.current = null;
    await model.releaseData(); // the trained model is kept for its parameters, not for another copy of the data
    const record: TrainRecord = {
      label: a.label,
      kind: a.kind,
      normalization,
      batchSize,
      weightScale: a.weightScale,
      status: r.status,
      divergedAt: r.divergedAt,
      message: r.message,
      iterations: r.iterations,
      lossHistory: solver.lossHistory.slice(),
      trainAccHistory: solver.trainAccHistory.slice(),
      valAccHistory: solver.valAccHistory.slice(),
      bestValAcc: solver.valAccHistory.length ? Math.max(...solver.valAccHistory) : NaN,
      bestTrainAcc: solver.trainAccHistory.length ? Math.max(...solver.trainAccHistory) : NaN,
      finalLoss: meanOfLast(solver.lossHistory),
      seconds: r.seconds,
      stepsPerSecond: r.iterations / Math.max(r.seconds, 1e-9),
    };
    return { record, model };
  } catch (e) {
    a.gate.current = null;
    model.destroy();
    throw e;
  }
}
