// One Solver run of one network as the training panels use it: the library's trainOne with the page's settings, pause/stop gates.
import { trainOne as trainNet, trainPopulation as trainNets, type GpuContext, type PopulationProgress, type ModelKind, type Normalization, type Solver, type SolverData, type SolverProgress, type TrainedNet, type TrainRecord } from '../src/index.ts';
import { createCpuModel } from './cpu-model.ts';
import { yieldToEventLoop } from './dom.ts';
import type { PanelSettings } from './url-state.ts';

export type { TrainRecord } from '../src/index.ts';
export type ModelLabel = 'baseline' | 'batchnorm';

/** The batchnorm backward the page trains with (the bench names the same setting). */
export const pageBackwardVariant = 'graph';

/** The Solver (or PopulationSolver) being run now, so the panel's buttons reach it. */
export interface SolverGate {
  current: Pick<Solver, 'pause' | 'resume' | 'abort'> | null;
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

export interface TrainArgs {
  kind: ModelKind;
  gpu: GpuContext | null;
  /** 'baseline' / 'batchnorm' in experiments 1 and 2; the batch-size runs are labelled by normalization and batch. */
  label: string;
  /** Default: batchnorm for the 'batchnorm' label, else none. */
  normalization?: Normalization;
  /** Default: the settings' batch size. */
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
export async function trainOne(a: TrainArgs): Promise<{ record: TrainRecord; model: TrainedNet }> {
  const s = a.settings;
  const normalization = a.normalization !== undefined ? a.normalization : a.label === 'batchnorm' ? 'batchnorm' : null;
  const batchSize = a.batchSize ?? (s.batchSize as number);
  try {
    const { record, net } = await trainNet({
      kind: a.kind, gpu: a.gpu, data: a.data, label: a.label, hiddenDims: s.hidden as number[], normalization,
      weightScale: a.weightScale, seed: s.seed as number, backwardVariant: pageBackwardVariant, yieldToEventLoop,
      // the CPU reference trains in a Web Worker, so the page never blocks
      cpuNet: (o) => createCpuModel(o.hiddenDims, { normalization, weightScale: o.weightScale, seed: o.seed, backwardVariant: o.backwardVariant }),
      updateRule: s.updateRule as string, learningRate: s.lr as number, batchSize, numEpochs: s.epochs as number,
      numTrainSamples: 1000, numValSamples: null,
      onSolver: (solver) => {
        a.gate.current = solver;
        if (a.gate.paused) solver.pause();
        if (a.gate.stopped) solver.abort();
      },
      onProgress: a.onProgress,
    });
    return { record, model: net };
  } finally {
    a.gate.current = null;
  }
}

export interface TrainPopulationArgs {
  gpu: GpuContext;
  label: ModelLabel;
  settings: PanelSettings;
  weightScales: number[];
  data: SolverData;
  gate: SolverGate;
  onProgress: (p: PopulationProgress) => void;
}

/**
 * Train one network kind at every weight scale as one population on the GPU (one plan, one submit per step for
 * all), with the seed's Solver settings; one record per scale, in order.
 *   const records = await trainPopulation({ gpu, label: 'batchnorm', settings, weightScales, data, gate, onProgress });
 */
export async function trainPopulation(a: TrainPopulationArgs): Promise<TrainRecord[]> {
  const s = a.settings;
  try {
    const { records, population } = await trainNets({
      gpu: a.gpu, data: a.data, label: a.label, hiddenDims: s.hidden as number[], normalization: a.label === 'batchnorm' ? 'batchnorm' : null,
      seed: s.seed as number, backwardVariant: pageBackwardVariant, members: a.weightScales.map((weightScale) => ({ weightScale })),
      updateRule: s.updateRule as string, learningRate: s.lr as number, batchSize: s.batchSize as number, numEpochs: s.epochs as number,
      numTrainSamples: 1000, numValSamples: null,
      onSolver: (solver) => {
        a.gate.current = solver;
        if (a.gate.paused) solver.pause();
        if (a.gate.stopped) solver.abort();
      },
      onProgress: a.onProgress,
    });
    await population.destroy();
    return records;
  } finally {
    a.gate.current = null;
  }
}
