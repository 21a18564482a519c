// The Solver over a population: M models trained side by side on one minibatch stream, with per-model histories, divergence and best parameters.
import { makeRng, type Rng } from '../reference/rng.ts';
import { updateRules, type OptimizerRule } from '../ops/update-rules.ts';
import type { SolverData, TrainableModel } from './model.ts';
import { SolverRun } from './solver-run.ts';
import {
  createCheckpointKeeper,
  isRecoverable,
  recoverFromLoss,
  uncapturedGpuError,
  type LoopCheckpoint,
  type RecoverableModel,
  type Recovery,
} from './recovery.ts';
import { accuracyRows, readSolverSettings, sampleRows, type SolverOptions, type SolverResult, type SolverSettings } from './solver.ts';

/** What a PopulationSolver trains: a GraphModel with `models` > 1 (e.g. FullyConnectedPopulation) implements it. */
export interface PopulationModel {
  readonly models: number;
  attachData(data: SolverData): Promise<void>;
  setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void>;
  /** One rate for every model, or one per model. */
  setLearningRate(lr: number | readonly number[]): void;
  /** Queue one step of every model on the same rows; resolves to each model's loss. */
  stepModels(indices: Uint32Array): Promise<Float64Array>;
  accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array>;
  snapshot(): Promise<{ params: Float32Array; state: Float32Array }>;
  restore(snapshot: unknown): Promise<void>;
  /** Where model k's values sit in a snapshot. */
  snapshotRanges(k: number): { params: [number, number][]; state: [number, number][] };
}

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

/** How one model of the population ended: as a single Solver's result, 'diverged' at its own step. */
export type PopulationMemberResult = Omit<SolverResult, 'seconds' | 'recoveries'>; // no device-loss recovery in the population loop yet

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

const extraKeys = ['learningRates', 'onDeviceLost', 'requestDevice', 'onRecovery'];

/** The loop's state beside a host checkpoint: what a recovery rewinds to. */
interface LoopState {
  rng: ReturnType<Rng['getState']>;
  losses: number[];
  checks: number[];
  epoch: number;
  lrs: number[];
  bestValAccs: number[];
  divergedAt: (number | undefined)[];
}

/**
 * Trains every model of a population with cs231n's Solver semantics: each step one minibatch (drawn as a single
 * Solver with the same seed draws it) for all, lr decay per epoch, accuracy checks at the first step, each epoch
 * end and the last step, each model's best validation parameters restored at the end. A model whose loss turns
 * NaN or infinite is reported as diverged at that step (its history ends there) and is frozen on the GPU; the
 * others train on.
 *   const solver = new PopulationSolver(pop, data, { updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, numEpochs: 10, batchSize: 50 });
 *   const r = await solver.train(); // r.members[k].status, solver.lossHistories[k]
 */
export class PopulationSolver extends SolverRun {
  readonly model: PopulationModel;
  readonly settings: SolverSettings;
  readonly learningRates: number[];
  lossHistories: number[][];
  trainAccHistories: number[][];
  valAccHistories: number[][];
  bestValAccs: number[];
  /** The step (1-based) at which each model diverged, or undefined. */
  divergedAt: (number | undefined)[];
  epoch = 0;
  private readonly rng: Rng;
  private readonly options: PopulationSolverOptions;

  constructor(model: PopulationModel, data: SolverData, options: PopulationSolverOptions = {}) {
    const settings = readSolverSettings(data, options, extraKeys, 'PopulationSolver');
    super(data, settings);
    this.settings = settings;
    if (options.onDeviceLost !== undefined && options.onDeviceLost !== 'recover' && options.onDeviceLost !== 'stop') {
      throw new Error(`PopulationSolver: onDeviceLost must be 'recover' or 'stop', got ${String(options.onDeviceLost)}`);
    }
    this.model = model;
    this.options = options;
    const M = model.models;
    const lr = this.settings.optimConfig.learningRate ?? updateRules[this.settings.updateRule as OptimizerRule].defaults.learningRate!;
    this.learningRates = options.learningRates ? [...options.learningRates] : new Array<number>(M).fill(lr);
    if (this.learningRates.length !== M) throw new Error(`PopulationSolver: ${this.learningRates.length} learningRates for ${M} models`);
    this.learningRates.forEach((r, k) => {
      if (!Number.isFinite(r) || r < 0) throw new Error(`PopulationSolver: learningRates[${k}] must be a finite number >= 0, got ${r}`);
    });
    this.lossHistories = Array.from({ length: M }, () => []);
    this.trainAccHistories = Array.from({ length: M }, () => []);
    this.valAccHistories = Array.from({ length: M }, () => []);
    this.bestValAccs = new Array<number>(M).fill(0);
    this.divergedAt = new Array<number | undefined>(M).fill(undefined);
    this.rng = makeRng(this.settings.seed);
  }

  /** Run the whole optimisation of every model; resolves with how the run and each model ended. */
  async train(): Promise<PopulationResult> {
    const t0 = performance.now();
    const { settings: s, model } = this;
    const M = model.models;
    const log = this.options.log ?? ((line: string) => console.log(line));
    await model.attachData(this.data);
    await model.setUpdateRule(s.updateRule, s.optimConfig);
    const lrs = [...this.learningRates];
    if (this.options.learningRates) model.setLearningRate(lrs);
    const numIterations = this.numIterations;
    const maxInFlight = this.options.maxInFlight ?? 4;
    const pending: { t: number; losses: Promise<Float64Array> }[] = [];
    const live = (k: number) => this.divergedAt[k] === undefined;
    // Each model's best-validation values, composed from the host copies of the improving checks: the checkpoint
    // the check takes anyway (read while the next steps queue), or a snapshot for a model that takes none.
    let best: { params: Float32Array; state: Float32Array } | null = null;
    let bestTaken = false;
    let bestReads: Promise<void> = Promise.resolve();
    const keepBest = (snap: { params: Float32Array; state: Float32Array }, improved: number[]) => {
      if (!best) best = { params: snap.params.slice(), state: snap.state.slice() };
      else for (const k of improved) copyRanges(snap, best, model.snapshotRanges(k));
    };
    let done = 0;
    const progress = (p: Partial<PopulationProgress>) => {
      const secs = (performance.now() - t0) / 1000;
      this.options.onProgress?.({ iteration: done, numIterations, epoch: this.epoch, stepsPerSecond: done / Math.max(secs, 1e-9), ...p });
    };
    const settle = async (keep: number) => {
      while (pending.length > keep) {
        const { t, losses: lp } = pending.shift()!;
        const losses = await lp;
        const shown = new Float64Array(M).fill(NaN);
        for (let k = 0; k < M; k++) {
          if (!live(k)) continue;
          this.lossHistories[k]!.push(losses[k]!);
          shown[k] = losses[k]!;
          if (!Number.isFinite(losses[k]!)) {
            this.divergedAt[k] = t + 1;
            if (s.verbose) log(`model ${k}: diverged at step ${t + 1}: loss ${losses[k]}`);
          }
        }
        done = t + 1;
        if (s.verbose && t % s.printEvery === 0)
          log(`(Iteration ${t + 1} / ${numIterations}) losses: ${[...shown].map((l) => l.toFixed(6)).join(' ')}`);
        progress({ losses: shown });
      }
    };
    const check = async () => {
      await settle(0);
      const trainAcc = await model.accuracyModels('train', accuracyRows(this.rng, this.numTrain, s.numTrainSamples));
      const valAcc = await model.accuracyModels('val', accuracyRows(this.rng, this.data.XVal.shape[0]!, s.numValSamples));
      const improved: number[] = [];
      for (let k = 0; k < M; k++) {
        if (!live(k)) continue;
        this.trainAccHistories[k]!.push(trainAcc[k]!);
        this.valAccHistories[k]!.push(valAcc[k]!);
        if (valAcc[k]! > this.bestValAccs[k]! || !bestTaken) improved.push(k);
        this.bestValAccs[k] = Math.max(valAcc[k]!, this.bestValAccs[k]!);
      }
      if (s.verbose) log(`(Epoch ${this.epoch} / ${s.numEpochs}) val acc: ${[...valAcc].map((a) => a.toFixed(3)).join(' ')}`);
      if (improved.length) bestTaken = true;
      progress({ trainAcc, valAcc });
      return improved;
    };
    // A recoverable model (GraphModel) gives host checkpoints at every accuracy check; a device loss goes back to the newest.
    const recoverable = isRecoverable(model as unknown as TrainableModel) ? (model as unknown as RecoverableModel) : null;
    const keeper = recoverable ? createCheckpointKeeper<LoopState>(recoverable) : null;
    let errorsSeen = recoverable ? recoverable.gpu.errors.length : 0;
    const loopState = (): LoopState => ({
      rng: this.rng.getState(),
      losses: this.lossHistories.map((h) => h.length),
      checks: this.valAccHistories.map((h) => h.length),
      epoch: this.epoch,
      lrs: [...lrs],
      bestValAccs: [...this.bestValAccs],
      divergedAt: [...this.divergedAt],
    });
    keeper?.take(0, loopState); // a loss before the first check goes back to the start
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
          if (this.aborted || this.divergedAt.every((d) => d !== undefined)) break;
          pending.push({ t, losses: model.stepModels(sampleRows(this.rng, this.numTrain, s.batchSize)) });
          const epochEnd = (t + 1) % this.iterationsPerEpoch === 0;
          if (epochEnd) {
            this.epoch++;
            for (let k = 0; k < M; k++) lrs[k]! *= s.lrDecay;
            if (s.lrDecay !== 1) model.setLearningRate(lrs);
          }
          if (t === 0 || t === numIterations - 1 || epochEnd) {
            const improved = await check();
            if (recoverable) {
              const gpuError = uncapturedGpuError(recoverable, errorsSeen);
              if (gpuError) throw gpuError;
            }
            if (keeper) {
              const read = keeper.take(t + 1, loopState); // read while the next steps queue
              // in check order; a read the device loss cut short leaves the best as it was (the loop rewinds past it)
              if (improved.length)
                bestReads = bestReads
                  .then(() => read)
                  .then(
                    (c) => keepBest(c, improved),
                    () => undefined,
                  );
            } else if (improved.length) keepBest(await model.snapshot(), improved);
          } else await settle(maxInFlight);
        }
        await settle(0);
        break;
      } catch (e) {
        for (const p of pending) p.losses.catch(() => undefined); // steps queued behind the failure fail the same way
        pending.length = 0;
        const lostAt = done + 1;
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
        // Rewind to the checkpoint: every model's histories are cut there and the lost steps run again on the same rows.
        const st = c.loop;
        this.rng.setState(st.rng);
        this.lossHistories.forEach((h, k) => {
          h.length = st.losses[k]!;
        });
        this.trainAccHistories.forEach((h, k) => {
          h.length = st.checks[k]!;
        });
        this.valAccHistories.forEach((h, k) => {
          h.length = st.checks[k]!;
        });
        this.epoch = st.epoch;
        st.lrs.forEach((v, k) => {
          lrs[k] = v;
        });
        model.setLearningRate(lrs); // the rebuilt update rule starts from the config's single rate
        this.bestValAccs = [...st.bestValAccs];
        this.divergedAt = [...st.divergedAt];
        t = done = c.iteration;
        errorsSeen = newGpu.errors.length;
        const r = { iteration: lostAt, resumedFrom: c.iteration, reason };
        recoveries.push(r);
        if (s.verbose)
          log(`GPU device lost at step ${lostAt} (${reason}): continuing on a new device from iteration ${t} (epoch ${this.epoch})`);
        this.options.onRecovery?.({ ...r, epoch: this.epoch, gpu: newGpu });
      }
    }
    await bestReads;
    let restored = best !== null && !stop;
    if (restored)
      await model.restore(best).catch(() => {
        restored = false;
      });
    const seconds = (performance.now() - t0) / 1000;
    const members = Array.from({ length: M }, (_, k): PopulationMemberResult => {
      const iterations = this.lossHistories[k]!.length;
      const d = this.divergedAt[k];
      if (d !== undefined) {
        return {
          status: 'diverged',
          divergedAt: d,
          message: `diverged at step ${d}: loss ${this.lossHistories[k]![d - 1]} (frozen there; best validation parameters restored)`,
          iterations,
          bestValAcc: this.bestValAccs[k]!,
        };
      }
      const status = stop ? 'device-lost' : failure ? 'failed' : this.aborted ? 'aborted' : 'completed';
      return {
        status,
        message: `${status} after ${iterations} of ${numIterations} steps, best val acc ${this.bestValAccs[k]}`,
        iterations,
        bestValAcc: this.bestValAccs[k]!,
      };
    });
    const iterations = done;
    const diverged = members.filter((m) => m.status === 'diverged').length;
    if (stop) {
      const at = stop.checkpoint?.iteration;
      const message = `${stop.why}: stopped${at === undefined ? ' (no host checkpoint: the parameters are gone)' : `; the model keeps the host checkpoint of iteration ${at}`} (histories kept)`;
      if (s.verbose) log(message);
      return { status: 'device-lost', message, iterations, seconds, members, recoveries, checkpointIteration: at };
    }
    if (failure) {
      const message = `failed at step ${iterations + 1}: ${failure.message} (histories kept; ${restored ? 'best validation parameters restored' : 'parameters could not be restored'})`;
      if (s.verbose) log(message);
      return { status: 'failed', message, iterations, seconds, members, recoveries };
    }
    const status = this.aborted ? 'aborted' : 'completed';
    const survived = recoveries.length ? `, ${recoveries.length} device loss${recoveries.length > 1 ? 'es' : ''} survived` : '';
    return {
      status,
      message: `${status} after ${iterations} of ${numIterations} steps: ${M - diverged} of ${M} models trained, ${diverged} diverged${survived}`,
      iterations,
      seconds,
      members,
      recoveries,
    };
  }
}

/** Copy model k's ranges (see snapshotRanges) from one snapshot into another. */
function copyRanges(
  from: { params: Float32Array; state: Float32Array },
  to: { params: Float32Array; state: Float32Array },
  r: { params: [number, number][]; state: [number, number][] },
): void {
  for (const [a, b] of r.params) to.params.set(from.params.subarray(a, b), a);
  for (const [a, b] of r.state) to.state.set(from.state.subarray(a, b), a);
}
