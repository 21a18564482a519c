// The Solver over a population: M models trained side by side on one minibatch stream, with per-model histories, divergence and best parameters.
import { makeRng, type Rng } from '../reference/rng.ts';
import type { SolverData } from './model.ts';
import { SolverRun } from './solver-run.ts';
import { populationLoopModel, type PopulationModel } from './loop-model.ts';
import type { Recovery } from './recovery.ts';
import { deviceLossKeys, readSolverSettings, type SolverSettings } from './settings.ts';
import type { SolverOptions, SolverResult } from './solver.ts';
import { makeTrainingState, runTraining, type LoopEnd, type TrainingState } from './training-loop.ts';

export interface PopulationSolverOptions extends Omit<SolverOptions, 'onProgress'> {
  /** Each model's learning rate (default: every model `optimConfig.learningRate`); lrDecay scales them all. */
  learningRates?: number[];
  onProgress?: (p: PopulationProgress) => void;
}

export interface PopulationProgress {
  iteration: number;
  numIterations: number;
  epoch: number;
  /** Each model's loss at `iteration` (NaN for a model frozen before it). */
  losses?: Float64Array;
  trainAcc?: Float64Array;
  valAcc?: Float64Array;
  stepsPerSecond: number;
}

/** How one model of the population ended: as a single Solver's result, 'diverged' at its own step (the run's time and recoveries are the population's). */
export type PopulationMemberResult = Omit<SolverResult, 'seconds' | 'recoveries'>;

export interface PopulationResult {
  /**
   * 'completed' (every model ran to the end or diverged), 'aborted', 'failed' (the model threw; histories kept), or
   * 'device-lost' (the device was lost and the run stopped: onDeviceLost 'stop', a second loss before a new
   * checkpoint, no new device; the model keeps the host checkpoint of `checkpointIteration`).
   */
  status: 'completed' | 'aborted' | 'failed' | 'device-lost';
  message: string;
  iterations: number;
  seconds: number;
  members: PopulationMemberResult[];
  /** The device losses the run survived, each from a host checkpoint (as the Solver's). */
  recoveries: Recovery[];
  checkpointIteration?: number;
}

/**
 * Trains every model of a population with cs231n's Solver semantics: each step one minibatch (drawn as a single
 * Solver with the same seed draws it) for all, lr decay per epoch, accuracy checks at the first step, each epoch
 * end and the last step, each model's best validation parameters restored at the end, device losses survived as
 * the Solver survives them. A model whose loss turns NaN or infinite is reported as diverged at that step (its
 * history ends there) and is frozen on the GPU; the others train on.
 *   const solver = new PopulationSolver(pop, data, { updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, numEpochs: 10, batchSize: 50 });
 *   const r = await solver.train(); // r.members[k].status, solver.lossHistories[k]
 */
export class PopulationSolver extends SolverRun {
  readonly model: PopulationModel;
  readonly settings: SolverSettings;
  readonly learningRates: number[];
  private readonly rng: Rng;
  private readonly options: PopulationSolverOptions;
  private readonly state: TrainingState;

  constructor(model: PopulationModel, data: SolverData, options: PopulationSolverOptions = {}) {
    const settings = readSolverSettings(data, options, ['learningRates', ...deviceLossKeys], 'PopulationSolver');
    super(data, settings);
    this.settings = settings;
    this.model = model;
    this.options = options;
    const M = model.models;
    this.learningRates = options.learningRates ? [...options.learningRates] : new Array<number>(M).fill(settings.learningRate);
    if (this.learningRates.length !== M) throw new Error(`PopulationSolver: ${this.learningRates.length} learningRates for ${M} models`);
    this.learningRates.forEach((r, k) => {
      if (!Number.isFinite(r) || r < 0) throw new Error(`PopulationSolver: learningRates[${k}] must be a finite number >= 0, got ${r}`);
    });
    this.state = makeTrainingState(this.learningRates);
    this.rng = makeRng(settings.seed);
  }

  get lossHistories(): number[][] {
    return this.state.lossHistories;
  }
  get trainAccHistories(): number[][] {
    return this.state.trainAccHistories;
  }
  get valAccHistories(): number[][] {
    return this.state.valAccHistories;
  }
  get bestValAccs(): number[] {
    return this.state.bestValAccs;
  }
  /** The step (1-based) at which each model diverged, or undefined. */
  get divergedAt(): (number | undefined)[] {
    return this.state.divergedAt;
  }
  /** Epochs completed. */
  get epoch(): number {
    return this.state.epoch;
  }

  /** Run the whole optimisation of every model; resolves with how the run and each model ended. */
  async train(): Promise<PopulationResult> {
    const { settings: s, options: o } = this;
    const log = o.log ?? ((line: string) => console.log(line));
    const model = populationLoopModel(this.model, this.data, s, o.learningRates && this.learningRates);
    const loop = {
      ...s,
      maxInFlight: o.maxInFlight ?? 4,
      divergence: 'freeze' as const,
      onDeviceLost: o.onDeviceLost,
      requestDevice: o.requestDevice,
    };
    const end = await runTraining(this, model, this.state, loop, this.rng, {
      log,
      lossLine: (t, losses) => `(Iteration ${t + 1} / ${this.numIterations}) losses: ${[...losses].map((l) => l.toFixed(6)).join(' ')}`,
      checkLine: (_trainAcc, valAcc) => `(Epoch ${this.epoch} / ${s.numEpochs}) val acc: ${[...valAcc].map((a) => a.toFixed(3)).join(' ')}`,
      onProgress: o.onProgress,
      onRecovery: o.onRecovery,
    });
    const result = this.result(end);
    if (s.verbose && (result.status === 'failed' || result.status === 'device-lost')) log(result.message);
    return result;
  }

  /** The loop's end in the population's terms: the run's status and message, and each model's. */
  private result(end: LoopEnd): PopulationResult {
    const { failure, stop, recoveries, iterations, seconds } = end;
    const M = this.model.models;
    const members = Array.from({ length: M }, (_, k): PopulationMemberResult => {
      const own = this.lossHistories[k]!.length;
      const d = this.divergedAt[k];
      const bestValAcc = this.bestValAccs[k]!;
      if (d !== undefined) {
        const message = `diverged at step ${d}: loss ${this.lossHistories[k]![d - 1]} (frozen there; best validation parameters restored)`;
        return { status: 'diverged', divergedAt: d, message, iterations: own, bestValAcc };
      }
      const status = stop ? 'device-lost' : failure ? 'failed' : this.aborted ? 'aborted' : 'completed';
      return {
        status,
        message: `${status} after ${own} of ${this.numIterations} steps, best val acc ${bestValAcc}`,
        iterations: own,
        bestValAcc,
      };
    });
    const base = { iterations, seconds, members, recoveries };
    if (stop) {
      const at = stop.checkpointIteration;
      const kept =
        at === undefined ? ' (no host checkpoint: the parameters are gone)' : `; the model keeps the host checkpoint of iteration ${at}`;
      return { status: 'device-lost', message: `${stop.why}: stopped${kept} (histories kept)`, ...base, checkpointIteration: at };
    }
    if (failure) {
      const restored = end.restored ? 'best validation parameters restored' : 'parameters could not be restored';
      return { status: 'failed', message: `failed at step ${iterations + 1}: ${failure.message} (histories kept; ${restored})`, ...base };
    }
    const status = this.aborted ? 'aborted' : 'completed';
    const diverged = members.filter((m) => m.status === 'diverged').length;
    const survived = recoveries.length ? `, ${recoveries.length} device loss${recoveries.length > 1 ? 'es' : ''} survived` : '';
    const message = `${status} after ${iterations} of ${this.numIterations} steps: ${M - diverged} of ${M} models trained, ${diverged} diverged${survived}`;
    return { status, message, ...base };
  }
}
