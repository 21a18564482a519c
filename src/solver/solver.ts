// The Solver: cs231n's training loop (minibatch SGD variants, lr decay, accuracy checks, best-parameter restore) for any TrainableModel.
import type { GpuContext } from '../gpu/device.ts';
import { makeRng, type Rng } from '../reference/rng.ts';
import type { SolverData, TrainableModel } from './model.ts';
import { SolverRun } from './solver-run.ts';
import { singleLoopModel } from './loop-model.ts';
import type { Recovery } from './recovery.ts';
import { accuracyRows, deviceLossKeys, readSolverSettings, type SolverSettings } from './settings.ts';
import { makeTrainingState, runTraining, type LoopEnd, type TrainingState } from './training-loop.ts';

/** The seed's Solver keyword arguments in camelCase, plus what a live page needs. */
export interface SolverOptions {
  updateRule?: string;
  optimConfig?: Record<string, number>;
  lrDecay?: number;
  batchSize?: number;
  numEpochs?: number;
  /** Training rows sampled (with replacement, as cs231n) for each training-accuracy check; null = all. */
  numTrainSamples?: number | null;
  /** Validation rows sampled for each validation-accuracy check; null = all. */
  numValSamples?: number | null;
  printEvery?: number;
  verbose?: boolean;
  /** Seed of the minibatch sampler, so a run can be replayed. */
  seed?: number;
  /** Where verbose lines go (default console.log). */
  log?: (line: string) => void;
  /** Called after every step whose loss is known, and after each accuracy check. */
  onProgress?: (p: SolverProgress) => void;
  /** At most this many steps are queued on the GPU before the Solver waits for the oldest loss (at least one submit's worth). */
  maxInFlight?: number;
  /**
   * Training steps per submit, for a model that can encode several in one command buffer (GraphModel): an integer
   * (1 = one step a submit), or 'auto' (default): as many as fit ~50 ms at the measured time per step, at most 8.
   * A submit never crosses an accuracy check or an epoch end; the histories, the losses and the parameters are the
   * same for every choice (bit for bit); pause and stop act between submits.
   */
  stepsPerSubmit?: number | 'auto';
  /**
   * When the GPU device is lost: 'recover' (default) rebuilds the model on a new device from the last host
   * checkpoint (taken at every accuracy check) and goes on; 'stop' ends the run there, keeping the checkpoint.
   */
  onDeviceLost?: 'recover' | 'stop';
  /** Where a new device comes from after a loss (default: made the way the lost one was, `gpu.recreate`). */
  requestDevice?: () => Promise<GpuContext>;
  /** Called after each recovery, once the model is on its new device and the loop has gone back to the checkpoint. */
  onRecovery?: (r: Recovery & { epoch: number; gpu: GpuContext }) => void;
}

export interface SolverProgress {
  iteration: number;
  numIterations: number;
  epoch: number;
  loss?: number;
  trainAcc?: number;
  valAcc?: number;
  stepsPerSecond: number;
}

export interface SolverResult {
  /**
   * 'failed': the model threw; 'device-lost': the GPU device was lost and the run stopped (onDeviceLost 'stop',
   * a second loss before a new checkpoint, no new device): the model answers from its host checkpoint of
   * iteration `checkpointIteration`. `message` says why.
   */
  status: 'completed' | 'diverged' | 'aborted' | 'failed' | 'device-lost';
  /** Set when status is 'diverged': the first step whose loss was NaN or infinite. */
  divergedAt?: number;
  message: string;
  iterations: number;
  bestValAcc: number;
  seconds: number;
  /** The device losses the run survived, in order. */
  recoveries: Recovery[];
  /** With status 'device-lost': the iteration of the host checkpoint the model keeps. */
  checkpointIteration?: number;
}

/**
 * Trains a model on data with cs231n's semantics; histories and the best validation parameters at the end.
 *   const solver = new Solver(model, data, { updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, numEpochs: 10, batchSize: 50 });
 *   const result = await solver.train(); // solver.lossHistory, solver.valAccHistory ...
 */
export class Solver extends SolverRun {
  readonly model: TrainableModel;
  readonly updateRule: string;
  readonly optimConfig: Record<string, number>;
  readonly lrDecay: number;
  readonly numTrainSamples: number | null;
  readonly numValSamples: number | null;
  readonly printEvery: number;
  readonly verbose: boolean;
  private readonly rng: Rng;
  private readonly options: SolverOptions;
  private readonly settings: SolverSettings;
  private readonly state: TrainingState;

  constructor(model: TrainableModel, data: SolverData, options: SolverOptions = {}) {
    const settings = readSolverSettings(data, options, deviceLossKeys);
    super(data, settings);
    this.model = model;
    this.options = options;
    this.settings = settings;
    this.updateRule = settings.updateRule;
    this.optimConfig = settings.optimConfig;
    this.lrDecay = settings.lrDecay;
    this.numTrainSamples = settings.numTrainSamples;
    this.numValSamples = settings.numValSamples;
    this.printEvery = settings.printEvery;
    this.verbose = settings.verbose;
    this.rng = makeRng(settings.seed);
    this.state = makeTrainingState([settings.learningRate]);
  }

  /** The loss of every step so far (cs231n `loss_history`). */
  get lossHistory(): number[] {
    return this.state.lossHistories[0]!;
  }
  get trainAccHistory(): number[] {
    return this.state.trainAccHistories[0]!;
  }
  get valAccHistory(): number[] {
    return this.state.valAccHistories[0]!;
  }
  get bestValAcc(): number {
    return this.state.bestValAccs[0]!;
  }
  /** Epochs completed. */
  get epoch(): number {
    return this.state.epoch;
  }

  /** cs231n `check_accuracy`: a random subsample of `numSamples` rows (all rows when null or larger), from the sampler's stream. */
  async checkAccuracy(split: 'train' | 'val', numSamples: number | null): Promise<number> {
    const n = split === 'train' ? this.numTrain : this.data.XVal.shape[0]!;
    return this.model.accuracy(split, accuracyRows(this.rng, n, numSamples));
  }

  /**
   * Run the whole optimisation; resolves with how it ended. A NaN/infinite loss ends it as 'diverged'.
   *   const r = await solver.train();
   *   if (r.status === 'diverged') console.log(r.message);
   */
  async train(): Promise<SolverResult> {
    const o = this.options;
    const log = o.log ?? ((s: string) => console.log(s));
    const onProgress = o.onProgress;
    const settings = {
      ...this.settings,
      maxInFlight: o.maxInFlight ?? 4,
      divergence: 'stop' as const,
      onDeviceLost: o.onDeviceLost,
      requestDevice: o.requestDevice,
    };
    const end = await runTraining(this, singleLoopModel(this.model, this.data, this.settings), this.state, settings, this.rng, {
      log,
      lossLine: (t, losses) => `(Iteration ${t + 1} / ${this.numIterations}) loss: ${losses[0]!.toFixed(6)}`,
      checkLine: (trainAcc, valAcc) => `(Epoch ${this.epoch} / ${this.numEpochs}) train acc: ${trainAcc[0]}; val_acc: ${valAcc[0]}`,
      onProgress:
        onProgress &&
        (({ losses, trainAcc, valAcc, ...p }) =>
          onProgress(losses ? { ...p, loss: losses[0] } : { ...p, trainAcc: trainAcc?.[0], valAcc: valAcc?.[0] })),
      onRecovery: o.onRecovery,
    });
    const result = this.result(end);
    if (this.verbose && result.status !== 'completed' && result.status !== 'aborted') log(result.message);
    return result;
  }

  /** The loop's end in the Solver's terms and messages. */
  private result(end: LoopEnd): SolverResult {
    const { failure, stop, recoveries } = end;
    const base = { iterations: this.lossHistory.length, bestValAcc: this.bestValAcc, seconds: end.seconds, recoveries };
    if (stop) {
      const at = stop.checkpointIteration;
      const kept =
        at === undefined
          ? ' (no host checkpoint: the parameters are gone)'
          : `; the model keeps the host checkpoint of iteration ${at} (getParams and saveSafetensors answer from it)`;
      return { status: 'device-lost', message: `${stop.why}: stopped${kept} (histories kept)`, checkpointIteration: at, ...base };
    }
    if (failure) {
      const restored = end.restored ? 'best validation parameters restored' : 'parameters could not be restored';
      return {
        status: 'failed',
        message: `failed at step ${this.lossHistory.length + 1}: ${failure.message} (histories kept; ${restored})`,
        ...base,
      };
    }
    const divergedAt = this.state.divergedAt[0];
    if (divergedAt !== undefined) {
      const message = `diverged at step ${divergedAt}: loss ${this.lossHistory[divergedAt - 1]} (histories kept up to there; best validation parameters restored)`;
      return { status: 'diverged', divergedAt, message, ...base };
    }
    const status = this.aborted ? 'aborted' : 'completed';
    const survived = recoveries.length ? `, ${recoveries.length} device loss${recoveries.length > 1 ? 'es' : ''} survived` : '';
    return {
      status,
      message: `${status} after ${this.lossHistory.length} of ${this.numIterations} steps, best val acc ${this.bestValAcc}${survived}`,
      ...base,
    };
  }
}
