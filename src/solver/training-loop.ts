// The one training loop of every solver: M >= 1 models on one minibatch stream, with pausing, checks, lr decay, divergence, best values and device-loss recovery.
import type { GpuContext } from '../gpu/device.ts';
import type { Rng, RngState } from '../reference/rng.ts';
import type { LoopModel } from './loop-model.ts';
import { createCheckpointKeeper, recoverFromLoss, uncapturedGpuError, type Recovery } from './recovery.ts';
import { accuracyRows, sampleRows, type SolverSettings } from './settings.ts';
import { createSubmitPacer, stepsToCheck } from './step-groups.ts';
import type { SolverRun } from './solver-run.ts';

/** Each model's histories and standing, live during a run (the Solver and the PopulationSolver show them under their names). */
export interface TrainingState {
  lossHistories: number[][];
  trainAccHistories: number[][];
  valAccHistories: number[][];
  bestValAccs: number[];
  /** The step (1-based) at which each model's loss first was NaN or infinite, or undefined. */
  divergedAt: (number | undefined)[];
  epoch: number;
  /** Each model's learning rate now (decayed at each epoch end). */
  learningRates: number[];
}

/**
 * The state of M models before their first step, one learning rate each.
 *   makeTrainingState([1e-3]).lossHistories; // [[]]
 *   makeTrainingState([1e-3, 2e-3]).bestValAccs; // [0, 0]
 */
export function makeTrainingState(learningRates: readonly number[]): TrainingState {
  const M = learningRates.length;
  return {
    lossHistories: Array.from({ length: M }, () => []),
    trainAccHistories: Array.from({ length: M }, () => []),
    valAccHistories: Array.from({ length: M }, () => []),
    bestValAccs: new Array<number>(M).fill(0),
    divergedAt: new Array<number | undefined>(M).fill(undefined),
    epoch: 0,
    learningRates: [...learningRates],
  };
}

/** The loop's settings: a solver's, the queue depth, what a divergence does, and what a device loss does. */
export interface LoopSettings extends SolverSettings {
  /** At most this many steps are queued before the loop waits for the oldest loss (at least one submit's worth). */
  maxInFlight: number;
  /** 'stop': the first NaN/infinite loss ends the run (the Solver); 'freeze': that model stops, the others go on (a population). */
  divergence: 'stop' | 'freeze';
  onDeviceLost?: 'recover' | 'stop';
  requestDevice?: () => Promise<GpuContext>;
}

/** One report: after a step's losses are known (`losses`, NaN for a model frozen before it) or after a check. */
export interface LoopProgress {
  iteration: number;
  numIterations: number;
  epoch: number;
  stepsPerSecond: number;
  losses?: Float64Array;
  trainAcc?: Float64Array;
  valAcc?: Float64Array;
}

/** How a solver shows the run: its verbose lines, its progress reports, its recovery callback. */
export interface LoopHooks {
  log: (line: string) => void;
  /** The verbose line of step t (0-based), written every printEvery steps. */
  lossLine(t: number, losses: Float64Array): string;
  /** The verbose line of an accuracy check (the epoch is the state's). */
  checkLine(trainAcc: Float64Array, valAcc: Float64Array): string;
  onProgress?: (p: LoopProgress) => void;
  onRecovery?: (r: Recovery & { epoch: number; gpu: GpuContext }) => void;
}

/** How the loop ended; the state holds the histories. */
export interface LoopEnd {
  /** The error that ended the run (not a device loss, or a model that cannot recover). */
  failure: Error | null;
  /** The device was lost and the run stopped: why, and the iteration of the host checkpoint the model keeps (if any). */
  stop: { why: string; checkpointIteration?: number } | null;
  /** Whether the best values were put back. */
  restored: boolean;
  recoveries: Recovery[];
  /** Steps whose losses are known. */
  iterations: number;
  seconds: number;
}

/** The loop's own state beside a host checkpoint: what a recovery rewinds to. */
interface Rewind {
  rng: RngState;
  losses: number[];
  checks: number[];
  epoch: number;
  learningRates: number[];
  bestValAccs: number[];
  divergedAt: (number | undefined)[];
  bestTaken: boolean;
}

/**
 * Train with cs231n's Solver semantics: numEpochs x iterationsPerEpoch steps, each on rows drawn from `rng` (then the
 * training-accuracy rows, then the validation rows at each check: at the first step, each epoch end and the last step);
 * lr decay per epoch; each model's best validation values put back at the end; after a device loss, back to the newest
 * host checkpoint on a new device (rng and histories rewound, so the lost steps run again on the same rows).
 *   const state = makeTrainingState([1e-3]);
 *   const end = await runTraining(solver, singleLoopModel(net, data, s), state, { ...s, maxInFlight: 4, divergence: 'stop' }, makeRng(s.seed), hooks);
 */
export async function runTraining(
  run: SolverRun,
  model: LoopModel,
  st: TrainingState,
  s: LoopSettings,
  rng: Rng,
  hooks: LoopHooks,
): Promise<LoopEnd> {
  const t0 = performance.now();
  await model.start();
  const M = model.models;
  const { numIterations, iterationsPerEpoch, numTrain } = run;
  const numVal = run.data.XVal.shape[0]!;
  const freeze = s.divergence === 'freeze';
  const live = (k: number) => st.divergedAt[k] === undefined;
  const ended = () => (freeze ? st.divergedAt.every((d) => d !== undefined) : st.divergedAt.some((d) => d !== undefined));
  /** Queued steps in order; `groupEnd` is its submit's step count on the last step of each submit, else 0. */
  const pending: { t: number; losses: Promise<Float64Array>; groupEnd: number }[] = [];
  const pacer = createSubmitPacer(s.stepsPerSubmit);
  // A recoverable model (GraphModel) gives a host checkpoint at every check; the improving ones double as best values.
  const recoverable = model.recoverable;
  const keeper = recoverable ? createCheckpointKeeper<Rewind>(recoverable) : null;
  let errorsSeen = recoverable ? recoverable.gpu.errors.length : 0; // GPU errors from before the run are not its own
  const throwGpuError = () => {
    const e = recoverable && uncapturedGpuError(recoverable, errorsSeen);
    if (e) throw e;
  };
  let bestTaken = false;
  let bestReads: Promise<void> = Promise.resolve();
  let done = 0;
  const progress = (p: Partial<LoopProgress>) => {
    const secs = (performance.now() - t0) / 1000;
    hooks.onProgress?.({ iteration: done, numIterations, epoch: st.epoch, stepsPerSecond: done / Math.max(secs, 1e-9), ...p });
  };
  const settle = async (keep: number) => {
    while (pending.length > keep) {
      const { t, losses: lp, groupEnd } = pending.shift()!;
      const losses = await lp;
      throwGpuError(); // a step whose command buffer was invalid did not run: its loss is not to be believed
      if (groupEnd) pacer.arrived(groupEnd);
      const shown = new Float64Array(M).fill(NaN);
      for (let k = 0; k < M; k++) {
        if (freeze && !live(k)) continue;
        st.lossHistories[k]!.push(losses[k]!);
        shown[k] = losses[k]!;
        if (Number.isFinite(losses[k]!) || !live(k)) continue;
        st.divergedAt[k] = t + 1;
        if (freeze && s.verbose) hooks.log(`model ${k}: diverged at step ${t + 1}: loss ${losses[k]}`);
      }
      done = t + 1;
      if (s.verbose && t % s.printEvery === 0) hooks.log(hooks.lossLine(t, shown));
      progress({ losses: shown });
    }
  };
  const rewindPoint = (): Rewind => ({
    rng: rng.getState(),
    losses: st.lossHistories.map((h) => h.length),
    checks: st.valAccHistories.map((h) => h.length),
    epoch: st.epoch,
    learningRates: [...st.learningRates],
    bestValAccs: [...st.bestValAccs],
    divergedAt: [...st.divergedAt],
    bestTaken,
  });
  const check = async (t: number) => {
    const trainAcc = await model.accuracyModels('train', accuracyRows(rng, numTrain, s.numTrainSamples));
    const valAcc = await model.accuracyModels('val', accuracyRows(rng, numVal, s.numValSamples));
    throwGpuError();
    const improved: number[] = [];
    for (let k = 0; k < M; k++) {
      if (!live(k)) continue;
      st.trainAccHistories[k]!.push(trainAcc[k]!);
      st.valAccHistories[k]!.push(valAcc[k]!);
      if (valAcc[k]! > st.bestValAccs[k]! || !bestTaken) improved.push(k);
      st.bestValAccs[k] = Math.max(valAcc[k]!, st.bestValAccs[k]!);
    }
    if (s.verbose) hooks.log(hooks.checkLine(trainAcc, valAcc));
    if (improved.length) bestTaken = true;
    if (keeper) {
      const read = keeper.take(t + 1, rewindPoint); // read while the next steps queue
      // in check order; a read the device loss cut short leaves the best as it was (the loop rewinds past it)
      if (improved.length)
        bestReads = bestReads
          .then(() => read)
          .then(
            (c) => model.keepBest(improved, c),
            () => undefined,
          );
    } else if (improved.length) await model.keepBest(improved);
    progress({ trainAcc, valAcc });
  };
  const rewindTo = (r: Rewind) => {
    rng.setState(r.rng);
    for (let k = 0; k < M; k++) {
      st.lossHistories[k]!.length = r.losses[k]!;
      st.trainAccHistories[k]!.length = r.checks[k]!;
      st.valAccHistories[k]!.length = r.checks[k]!;
      st.learningRates[k] = r.learningRates[k]!;
      st.bestValAccs[k] = r.bestValAccs[k]!;
      st.divergedAt[k] = r.divergedAt[k];
    }
    st.epoch = r.epoch;
    bestTaken = r.bestTaken;
    if (model.ratesLostOnRebuild) model.setLearningRates(st.learningRates);
  };
  keeper?.take(0, rewindPoint); // a loss before the first check goes back to the start
  const recoveries: Recovery[] = [];
  let failure: Error | null = null;
  let stop: LoopEnd['stop'] = null;
  let t = 0;
  for (;;) {
    try {
      while (t < numIterations) {
        if (run.paused) {
          await settle(0);
          await run.paused;
          pacer.restart();
        }
        if (run.aborted || ended()) break;
        // the next group of steps in one submit: never past a check, so the sampler's draws keep their order
        const size = stepsToCheck(t, model.multiStep ? pacer.cap() : 1, numIterations, iterationsPerEpoch);
        const rows = Array.from({ length: size }, () => sampleRows(rng, numTrain, s.batchSize));
        model.stepGroup(rows).forEach((losses, j) => {
          // settle awaits it (and sees its error); marked handled now, so steps queued behind a lost device that fail
          // while an earlier one is awaited are not reported as unhandled rejections
          losses.catch(() => undefined);
          pending.push({ t: t + j, losses, groupEnd: j === size - 1 ? size : 0 });
        });
        t += size;
        const epochEnd = t % iterationsPerEpoch === 0;
        if (epochEnd) {
          st.epoch++;
          for (let k = 0; k < M; k++) st.learningRates[k]! *= s.lrDecay;
          if (s.lrDecay !== 1) model.setLearningRates(st.learningRates);
        }
        if (t === 1 || t === numIterations || epochEnd) {
          await settle(0);
          if (!freeze && ended()) break; // the Solver stops at a divergence; a population checks the models still training
          await check(t - 1);
          pacer.restart();
        } else await settle(Math.max(s.maxInFlight, size)); // one group in flight while the next is drawn and encoded
      }
      await settle(0);
      break;
    } catch (e) {
      pending.length = 0;
      // The device is lost: go back to the newest host checkpoint, on a new device unless told to stop.
      const lostAt = done + 1;
      const got = await recoverFromLoss(recoverable, keeper, recoveries, {
        lostAt,
        onDeviceLost: s.onDeviceLost,
        requestDevice: s.requestDevice,
      });
      if (!got) {
        failure = e as Error;
        break;
      }
      if ('stop' in got) {
        stop = { why: got.stop, checkpointIteration: got.checkpoint?.iteration };
        break;
      }
      // Rewind to the checkpoint: every history is cut there and the lost steps run again on the same rows.
      const { reason, checkpoint: c, gpu } = got;
      rewindTo(c.loop);
      t = done = c.iteration;
      errorsSeen = gpu.errors.length;
      const r = { iteration: lostAt, resumedFrom: c.iteration, reason };
      recoveries.push(r);
      if (s.verbose)
        hooks.log(`GPU device lost at step ${lostAt} (${reason}): continuing on a new device from iteration ${t} (epoch ${st.epoch})`);
      hooks.onRecovery?.({ ...r, epoch: st.epoch, gpu });
    }
  }
  await bestReads;
  const restored = !stop && (await model.restoreBest());
  return { failure, stop, restored, recoveries, iterations: done, seconds: (performance.now() - t0) / 1000 };
}
