// The Solver: cs231n's training loop (minibatch SGD variants, lr decay, accuracy checks, best-parameter restore) for any TrainableModel.
import type { GpuContext } from '../gpu/device.ts';
import type { ModelCheckpoint } from '../graph/checkpoint.ts';
import { makeRng, type Rng, type RngState } from '../reference/rng.ts';
import type { SolverData, TrainableModel } from './model.ts';
import { SolverRun } from './solver-run.ts';
import { isUpdateRule, updateRuleNames, updateRules, type OptimizerRule } from '../ops/update-rules.ts';
import {
  createCheckpointKeeper,
  recoverFromLoss,
  isRecoverable,
  uncapturedGpuError,
  type LoopCheckpoint,
  type Recovery,
} from './recovery.ts';

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
  /** At most this many steps are queued on the GPU before the Solver waits for the oldest loss. */
  maxInFlight?: number;
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

/** The loop's own state at a checkpoint: the sampler, the histories' lengths, the epoch and lr, the best so far. */
interface LoopState {
  rng: RngState;
  losses: number;
  checks: number;
  epoch: number;
  learningRate: number;
  bestValAcc: number;
  best: unknown;
}

const optionKeys = [
  'updateRule',
  'optimConfig',
  'lrDecay',
  'batchSize',
  'numEpochs',
  'numTrainSamples',
  'numValSamples',
  'printEvery',
  'verbose',
  'seed',
  'log',
  'onProgress',
  'maxInFlight',
];

/** The Solver's device-loss options (another solver loop takes them once it recovers through src/solver/recovery.ts). */
const deviceLossKeys = ['onDeviceLost', 'requestDevice', 'onRecovery'];

/** The Solver's settings with cs231n's defaults filled in, checked against the data. */
export interface SolverSettings {
  updateRule: string;
  optimConfig: Record<string, number>;
  lrDecay: number;
  batchSize: number;
  numEpochs: number;
  numTrainSamples: number | null;
  numValSamples: number | null;
  printEvery: number;
  verbose: boolean;
  seed: number;
}

/**
 * Check a Solver's options and data and fill in cs231n's defaults; an unknown key, rule or bad count is an error naming it.
 *   readSolverSettings(data, { updateRule: 'adam' }).batchSize; // 100
 *   readSolverSettings(data, { update_rule: 'adam' }); // Error: Solver: unrecognized option "update_rule" ...
 */
export function readSolverSettings(data: SolverData, options: object, extraKeys: readonly string[] = [], who = 'Solver'): SolverSettings {
  const o = options as SolverOptions;
  const keys = [...optionKeys, ...extraKeys];
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw new Error(`${who}: unrecognized option "${key}" (expected one of ${keys.join(', ')})`);
  }
  const updateRule = o.updateRule ?? 'sgd';
  if (!isUpdateRule(updateRule))
    throw new Error(`${who}: invalid update_rule "${updateRule}" (expected one of ${updateRuleNames.join(', ')})`);
  const settings: SolverSettings = {
    updateRule,
    optimConfig: { ...(o.optimConfig ?? {}) },
    lrDecay: o.lrDecay ?? 1.0,
    batchSize: o.batchSize ?? 100,
    numEpochs: o.numEpochs ?? 10,
    numTrainSamples: o.numTrainSamples === undefined ? 1000 : o.numTrainSamples,
    numValSamples: o.numValSamples ?? null,
    printEvery: o.printEvery ?? 10,
    verbose: o.verbose ?? true,
    seed: o.seed ?? 0,
  };
  const n = data.XTrain.shape[0] ?? 0;
  if (n < 1) throw new Error(`${who}: data.XTrain has no rows`);
  if (data.yTrain.length !== n) throw new Error(`${who}: data.yTrain has ${data.yTrain.length} labels for ${n} rows of XTrain`);
  if (data.yVal.length !== (data.XVal.shape[0] ?? 0)) {
    throw new Error(`${who}: data.yVal has ${data.yVal.length} labels for ${data.XVal.shape[0]} rows of XVal`);
  }
  for (const [k, v] of Object.entries({ batchSize: settings.batchSize, numEpochs: settings.numEpochs })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${who}: ${k} must be a positive integer, got ${v}`);
  }
  return settings;
}

/**
 * Rows drawn uniformly with replacement (numpy's `np.random.choice(n, k)`), from the Solver's minibatch sampler.
 *   sampleRows(makeRng(0), 1000, 50); // Uint32Array of 50 row indices below 1000
 *   sampleRows(rng, 5, 2); // e.g. [3, 0]
 */
export function sampleRows(rng: Rng, n: number, k: number): Uint32Array {
  const out = new Uint32Array(k);
  for (let i = 0; i < k; i++) out[i] = rng.randint(n);
  return out;
}

/**
 * cs231n `check_accuracy`'s rows: a random subsample of `numSamples` rows of `n` (all rows when null or larger).
 *   accuracyRows(rng, 49000, 1000).length; // 1000
 *   accuracyRows(rng, 500, 1000).length;   // 500: every row, in order
 */
export function accuracyRows(rng: Rng, n: number, numSamples: number | null): Uint32Array {
  return numSamples !== null && n > numSamples ? sampleRows(rng, n, numSamples) : Uint32Array.from({ length: n }, (_, i) => i);
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
  lossHistory: number[] = [];
  trainAccHistory: number[] = [];
  valAccHistory: number[] = [];
  bestValAcc = 0;
  epoch = 0;
  private readonly rng: Rng;
  private readonly options: SolverOptions;
  private learningRate: number;

  constructor(model: TrainableModel, data: SolverData, options: SolverOptions = {}) {
    const settings = readSolverSettings(data, options, deviceLossKeys);
    super(data, settings);
    this.model = model;
    this.options = options;
    this.updateRule = settings.updateRule;
    this.optimConfig = settings.optimConfig;
    this.lrDecay = settings.lrDecay;
    this.numTrainSamples = settings.numTrainSamples;
    this.numValSamples = settings.numValSamples;
    this.printEvery = settings.printEvery;
    this.verbose = settings.verbose;
    this.rng = makeRng(settings.seed);
    this.learningRate = this.optimConfig.learningRate ?? updateRules[this.updateRule as OptimizerRule].defaults.learningRate!;
    if (options.onDeviceLost !== undefined && options.onDeviceLost !== 'recover' && options.onDeviceLost !== 'stop') {
      throw new Error(`Solver: onDeviceLost must be 'recover' or 'stop', got ${String(options.onDeviceLost)}`);
    }
  }

  /** Rows drawn uniformly with replacement (numpy's `np.random.choice(n, k)`). */
  private sample(n: number, k: number): Uint32Array {
    return sampleRows(this.rng, n, k);
  }

  /** cs231n `check_accuracy`: a random subsample of `numSamples` rows (all rows when null or larger). */
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
    const t0 = performance.now();
    const log = this.options.log ?? ((s: string) => console.log(s));
    await this.model.attachData(this.data);
    await this.model.setUpdateRule(this.updateRule, this.optimConfig);
    const numIterations = this.numIterations;
    const maxInFlight = this.options.maxInFlight ?? 4;
    const pending: { t: number; loss: Promise<number> }[] = [];
    // A recoverable model (GraphModel) gives host checkpoints: the best one doubles as the best snapshot.
    const recoverable = isRecoverable(this.model) ? this.model : null;
    const keeper = recoverable ? createCheckpointKeeper<LoopState>(recoverable) : null;
    let bestSnapshot: unknown = null;
    let divergedAt: number | undefined;
    let done = 0;
    let errorsSeen = recoverable ? recoverable.gpu.errors.length : 0; // GPU errors from before the run are not its own
    const progress = (p: Partial<SolverProgress>) => {
      const secs = (performance.now() - t0) / 1000;
      this.options.onProgress?.({ iteration: done, numIterations, epoch: this.epoch, stepsPerSecond: done / Math.max(secs, 1e-9), ...p });
    };
    const settle = async (keep: number) => {
      while (pending.length > keep) {
        const { t, loss: lp } = pending.shift()!;
        const loss = await lp;
        const gpuError = recoverable && uncapturedGpuError(recoverable, errorsSeen);
        if (gpuError) throw gpuError;
        this.lossHistory.push(loss);
        done = t + 1;
        if (!Number.isFinite(loss) && divergedAt === undefined) divergedAt = t;
        if (this.verbose && t % this.printEvery === 0) log(`(Iteration ${t + 1} / ${numIterations}) loss: ${loss.toFixed(6)}`);
        progress({ loss });
      }
    };
    const loopState = (best: unknown): LoopState => ({
      rng: this.rng.getState(),
      losses: this.lossHistory.length,
      checks: this.valAccHistory.length,
      epoch: this.epoch,
      learningRate: this.learningRate,
      bestValAcc: this.bestValAcc,
      best,
    });
    keeper?.take(0, () => loopState(null)); // a loss before the first check goes back to the start
    const recoveries: Recovery[] = [];
    let failure: Error | null = null;
    let stop: { why: string; checkpoint: LoopCheckpoint<LoopState> | null } | null = null;
    let t = 0;
    for (;;) {
      try {
        for (; t < numIterations; t++) {
          if (this.paused) {
            await settle(0);
            await this.paused;
          }
          if (this.aborted || divergedAt !== undefined) break;
          pending.push({ t, loss: this.model.step(this.sample(this.numTrain, this.batchSize)) });
          const epochEnd = (t + 1) % this.iterationsPerEpoch === 0;
          if (epochEnd) {
            this.epoch++;
            this.learningRate *= this.lrDecay;
            if (this.lrDecay !== 1) this.model.setLearningRate(this.learningRate);
          }
          const firstIt = t === 0;
          const lastIt = t === numIterations - 1;
          if (firstIt || lastIt || epochEnd) {
            await settle(0);
            if (divergedAt !== undefined) break;
            const trainAcc = await this.checkAccuracy('train', this.numTrainSamples);
            const valAcc = await this.checkAccuracy('val', this.numValSamples);
            this.trainAccHistory.push(trainAcc);
            this.valAccHistory.push(valAcc);
            if (this.verbose) log(`(Epoch ${this.epoch} / ${this.numEpochs}) train acc: ${trainAcc}; val_acc: ${valAcc}`);
            const better = valAcc > this.bestValAcc || bestSnapshot === null;
            if (better) this.bestValAcc = Math.max(valAcc, this.bestValAcc);
            if (keeper)
              keeper.take(t + 1, (c) => loopState(better ? (bestSnapshot = c) : bestSnapshot)); // read while the next steps queue
            else if (better) bestSnapshot = await this.model.snapshot();
            progress({ trainAcc, valAcc });
          } else {
            await settle(maxInFlight);
          }
        }
        await settle(0);
        break;
      } catch (e) {
        for (const p of pending) p.loss.catch(() => undefined); // steps queued behind the failure fail the same way
        pending.length = 0;
        // The device is lost: go back to the newest host checkpoint, on a new device unless told to stop.
        const lostAt = this.lossHistory.length + 1;
        const got = await recoverFromLoss(recoverable, keeper, recoveries, {
          lostAt,
          onDeviceLost: this.options.onDeviceLost,
          requestDevice: this.options.requestDevice,
        });
        if (!got) {
          failure = e as Error;
          break;
        }
        if ('stop' in got) {
          stop = { why: got.stop, checkpoint: got.checkpoint };
          break;
        }
        const { reason, checkpoint: c, gpu: newGpu } = got;
        // Rewind the loop to the checkpoint: the steps after it are dropped from the histories and run again.
        const s = c.loop;
        this.rng.setState(s.rng);
        this.lossHistory.length = s.losses;
        this.trainAccHistory.length = s.checks;
        this.valAccHistory.length = s.checks;
        this.epoch = s.epoch;
        this.learningRate = s.learningRate;
        this.bestValAcc = s.bestValAcc;
        bestSnapshot = s.best;
        if (divergedAt !== undefined && divergedAt >= c.iteration) divergedAt = undefined;
        t = done = c.iteration;
        errorsSeen = newGpu.errors.length;
        const r = { iteration: lostAt, resumedFrom: c.iteration, reason };
        recoveries.push(r);
        if (this.verbose)
          log(`GPU device lost at step ${lostAt} (${reason}): continuing on a new device from iteration ${t} (epoch ${this.epoch})`);
        this.options.onRecovery?.({ ...r, epoch: this.epoch, gpu: newGpu });
      }
    }
    return this.finish({ t0, log, failure, stop, divergedAt, bestSnapshot, recoveries, numIterations });
  }

  /** How the run ended, after the best validation parameters are put back (when the device allows). */
  private async finish(a: {
    t0: number;
    log: (s: string) => void;
    failure: Error | null;
    stop: { why: string; checkpoint: LoopCheckpoint<LoopState> | null } | null;
    divergedAt?: number;
    bestSnapshot: unknown;
    recoveries: Recovery[];
    numIterations: number;
  }): Promise<SolverResult> {
    const { log, failure, divergedAt, recoveries } = a;
    let restored = a.bestSnapshot !== null && !a.stop;
    if (restored)
      await Promise.resolve(a.bestSnapshot)
        .then((s) => this.model.restore(s as ModelCheckpoint))
        .catch(() => {
          restored = false;
        });
    const seconds = (performance.now() - a.t0) / 1000;
    const base = { iterations: this.lossHistory.length, bestValAcc: this.bestValAcc, seconds, recoveries };
    if (a.stop) {
      const at = a.stop.checkpoint?.iteration;
      const message = `${a.stop.why}: stopped${at === undefined ? ' (no host checkpoint: the parameters are gone)' : `; the model keeps the host checkpoint of iteration ${at} (getParams and saveSafetensors answer from it)`} (histories kept)`;
      if (this.verbose) log(message);
      return { status: 'device-lost', message, checkpointIteration: at, ...base };
    }
    if (failure) {
      const message = `failed at step ${this.lossHistory.length + 1}: ${failure.message} (histories kept; ${restored ? 'best validation parameters restored' : 'parameters could not be restored'})`;
      if (this.verbose) log(message);
      return { status: 'failed', message, ...base };
    }
    if (divergedAt !== undefined) {
      const message = `diverged at step ${divergedAt + 1}: loss ${this.lossHistory[divergedAt]} (histories kept up to there; best validation parameters restored)`;
      if (this.verbose) log(message);
      return { status: 'diverged', divergedAt: divergedAt + 1, message, ...base };
    }
    const status = this.aborted ? 'aborted' : 'completed';
    const survived = recoveries.length ? `, ${recoveries.length} device loss${recoveries.length > 1 ? 'es' : ''} survived` : '';
    const message = `${status} after ${this.lossHistory.length} of ${a.numIterations} steps, best val acc ${this.bestValAcc}${survived}`;
    return { status, message, ...base };
  }
}
