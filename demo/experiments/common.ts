// What every experiment runs on, DOM-free (the page and the Node CLI share it): the run's environment, pause/stop, progress, one training.
import {
  trainOne as trainNet,
  type GpuContext,
  type Activation,
  type ModelKind,
  type Normalization,
  type NetChoice,
  type Solver,
  type SolverData,
  type SolverProgress,
  type TrainedNet,
  type TrainRecord,
  type CIFAR10Uint8,
} from '../../src/index.ts';
import type { PanelSettings } from '../url-state.ts';

export type { TrainRecord } from '../../src/index.ts';
export type ModelLabel = 'baseline' | 'batchnorm';

/** The batchnorm backward the page trains with (the bench names the same setting). */
export const pageBackwardVariant = 'graph';

/** Where an experiment runs: the model kind, the device, and the runtime's own pieces (the page's CPU net lives in a Web Worker). */
export interface ExperimentEnv {
  kind: ModelKind;
  gpu: GpuContext | null;
  /** Why there is no GPU (recorded in the results' adapter field). */
  gpuError?: string | null;
  /** The CPU kind's network (the page passes one in a Web Worker; default: the reference in this thread). */
  cpuNet?: (o: NetChoice) => TrainedNet;
  /** Awaited between CPU steps so a page stays responsive. */
  yieldToEventLoop?: () => Promise<void>;
  /** After a GPU device loss: where a new device comes from, and who is told (the page's status line); absent: the library's default. */
  device?: DeviceHooks;
}

/** How a runtime gets a new GPU device after a loss (it becomes the runtime's device) and tells the person. */
export interface DeviceHooks {
  requestDevice(): Promise<GpuContext>;
  notice(text: string): void;
  /** Destroy the device when a run reaches this step (the URL's loseGpuAt), once; null: never. */
  loseAt: number | null;
  lose(): void;
}

/** What a run reports as it goes: the page's run control, the terminal's progress bar. */
export interface ProgressSink {
  setProgress(done: number, total: number, unit?: string): void;
  setDetail(text: string): void;
}

/**
 * Seconds as a clock reads them ('–' for none).
 *   formatDuration(75);   // '1:15'
 *   formatDuration(3725); // '1:02:05'
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/**
 * The progress line under a run's bar, in the page and the terminal alike.
 *   rateText(10, 400, 'steps', 1.25); // "10 / 400 steps · 8.00 steps/s · ETA 0:49"
 *   control.setDetail(rateText(done, total, 'steps', elapsed));
 */
export function rateText(done: number, total: number, unit: string, seconds: number): string {
  const perSec = seconds > 0 ? done / seconds : 0;
  const eta = perSec > 0 ? (total - done) / perSec : NaN;
  return `${done} / ${total} ${unit} · ${perSec >= 10 ? perSec.toFixed(0) : perSec.toFixed(2)} ${unit}/s · ETA ${formatDuration(eta)}`;
}

/** The Solver (or PopulationSolver) being run now, so pause and stop reach it. */
export interface SolverGate {
  current: Pick<Solver, 'pause' | 'resume' | 'abort'> | null;
  paused: boolean;
  stopped: boolean;
}

/**
 * A gate no Solver has joined yet, neither paused nor stopped.
 *   const gate = createGate();
 *   trainOne({ ...options, onSolver: joinGate(gate) });
 */
export function createGate(): SolverGate {
  return { current: null, paused: false, stopped: false };
}

/**
 * Pause the Solver running now, and every one that joins the gate later, until resumeGate.
 *   pauseGate(gate);
 *   resumeGate(gate); // the run goes on from the same step
 */
export function pauseGate(g: SolverGate): void {
  g.paused = true;
  g.current?.pause();
}
/**
 * Let the gate's Solver run on after pauseGate.
 *   pauseGate(gate);
 *   resumeGate(gate);
 */
export function resumeGate(g: SolverGate): void {
  g.paused = false;
  g.current?.resume();
}
/**
 * Abort the Solver running now, and every one that joins the gate later (the run keeps what it has).
 *   stopGate(gate);
 *   gate.stopped; // true
 */
export function stopGate(g: SolverGate): void {
  g.stopped = true;
  g.current?.abort();
}

/**
 * The `onSolver` option of a run: each Solver (or PopulationSolver) it starts joins the gate, and is paused or aborted at
 * once where the gate already is.
 *   trainOne({ ...options, onSolver: joinGate(gate) });
 *   stopGate(gate); // aborts the Solver running now
 */
export function joinGate(g: SolverGate): (solver: NonNullable<SolverGate['current']>) => void {
  return (solver) => {
    g.current = solver;
    if (g.paused) solver.pause();
    if (g.stopped) solver.abort();
  };
}

/**
 * Destroy the device once, when a run reaches the step the hooks name (the URL's loseGpuAt); nothing without hooks.
 *   onProgress: (p) => loseDeviceAt(hooks, p.iteration),
 *   loseDeviceAt({ ...hooks, loseAt: 5 }, 5); // calls hooks.lose(), then never again
 */
export function loseDeviceAt(hooks: DeviceHooks | undefined, iteration: number): void {
  if (hooks && hooks.loseAt !== null && iteration >= hooks.loseAt) {
    hooks.loseAt = null;
    hooks.lose();
  }
}

/**
 * The adapter as results record it ("which adapter produced this"), or why there is no device.
 *   adapterRecord(env); // { vendor: 'google', architecture: 'swiftshader', ..., timestampQuery: true }
 *   adapterRecord({ gpu: null, gpuError: 'no adapter' }); // { error: 'no adapter' }
 */
export function adapterRecord(env: Pick<ExperimentEnv, 'gpu' | 'gpuError'>): Record<string, unknown> {
  return env.gpu ? { ...env.gpu.adapter, timestampQuery: env.gpu.hasTimestampQuery } : { error: env.gpuError ?? 'no WebGPU device' };
}

/**
 * Steps one training of these settings takes (the Solver's numIterations).
 *   iterationsOf({ numTrain: 1000, batchSize: 50, epochs: 2 }); // 40
 *   iterationsOf(s, 5);                                          // the same settings at batch 5
 */
export function iterationsOf(s: PanelSettings, batchSize = s.batchSize as number): number {
  return Math.max(Math.floor((s.numTrain as number) / batchSize), 1) * (s.epochs as number);
}

/**
 * Where a run trains, for progress lines.
 *   whereOf({ ...env, kind: 'gpu' }); // 'the GPU'
 *   whereOf({ ...env, kind: 'cpu' }); // 'the CPU'
 */
export function whereOf(env: ExperimentEnv): string {
  return env.kind === 'gpu' ? 'the GPU' : 'the CPU';
}

/**
 * The split sizes the page makes of a loaded CIFAR-10 (the seed's 49000 + 1000 from the full set; a sample gives
 * a quarter to validation, at most 1000), so both runtimes train on the same images with the same mean image.
 *   experimentSplits(5000, 1000); // { numTraining: 4000, numValidation: 1000, numTest: 1000 }
 */
export function experimentSplits(heldTrain: number, heldTest: number): { numTraining: number; numValidation: number; numTest: number } {
  const numValidation = Math.min(1000, Math.floor(heldTrain / 4));
  return { numTraining: Math.min(49000, heldTrain - numValidation), numValidation, numTest: Math.min(1000, heldTest) };
}

/**
 * The Solver's data for a run: the first `numTrain` training images and the first `numVal` validation images,
 * uint8 with the training mean image (the GPU subtracts it on the fly).
 *   const data = makeSolverData(u8, 1000, 1000);
 *   new Solver(model, data, { ... });
 */
export function makeSolverData(u8: CIFAR10Uint8, numTrain: number, numVal: number): SolverData {
  const { train, val, meanImage } = u8;
  if (numTrain > train.count) throw new Error(`asked for ${numTrain} training images; the loaded training split holds ${train.count}`);
  if (numVal > val.count) throw new Error(`asked for ${numVal} validation images; the loaded validation split holds ${val.count}`);
  const d = 3072;
  return {
    XTrain: { data: train.images.subarray(0, numTrain * d), shape: [numTrain, d] },
    yTrain: train.labels.subarray(0, numTrain),
    XVal: { data: val.images.subarray(0, numVal * d), shape: [numVal, d] },
    yVal: val.labels.subarray(0, numVal),
    meanImage,
  };
}

export interface TrainArgs {
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
 *   const { record, model } = await trainOne(env, { label: 'batchnorm', settings, weightScale: 2e-2, data, gate, onProgress });
 *   model.destroy();
 */
export async function trainOne(env: ExperimentEnv, a: TrainArgs): Promise<{ record: TrainRecord; model: TrainedNet }> {
  const s = a.settings;
  const normalization = a.normalization !== undefined ? a.normalization : a.label === 'batchnorm' ? 'batchnorm' : null;
  const batchSize = a.batchSize ?? (s.batchSize as number);
  const hooks = env.device;
  // a device lost between two runs (a sweep goes on after a stop) is replaced before the next network is built
  if (env.kind === 'gpu' && env.gpu?.lostInfo && hooks) env.gpu = await hooks.requestDevice();
  try {
    const { record, net } = await trainNet({
      kind: env.kind,
      gpu: env.gpu,
      data: a.data,
      label: a.label,
      hiddenDims: s.hidden as number[],
      normalization,
      // a panel without the field (sweep, batch sizes) trains the seed's ReLU nets
      activation: (s.activation as Activation | undefined) ?? 'relu',
      weightScale: a.weightScale,
      seed: s.seed as number,
      backwardVariant: pageBackwardVariant,
      yieldToEventLoop: env.yieldToEventLoop,
      cpuNet: env.cpuNet,
      updateRule: s.updateRule as string,
      learningRate: s.lr as number,
      batchSize,
      numEpochs: s.epochs as number,
      numTrainSamples: 1000,
      numValSamples: null,
      onSolver: joinGate(a.gate),
      onProgress: (p, solver) => {
        loseDeviceAt(hooks, p.iteration);
        a.onProgress(p, solver);
      },
      requestDevice: hooks?.requestDevice,
      onRecovery: (r) => {
        env.gpu = r.gpu; // the next networks of this run train on the new device too
        hooks?.notice(`GPU device lost at step ${r.iteration} (${a.label} network): continuing on a new device from epoch ${r.epoch}`);
      },
    });
    if (record.status === 'device-lost') hooks?.notice(`${a.label} network: ${record.message}`);
    return { record, model: net };
  } finally {
    a.gate.current = null;
  }
}
