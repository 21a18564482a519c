// What the training loop trains (M >= 1 models stepped together) and the two adapters to it: one TrainableModel, one PopulationModel.
import type { ModelCheckpoint } from '../graph/checkpoint.ts';
import type { SolverData, TrainableModel } from './model.ts';
import { isRecoverable, type Recoverable } from './recovery.ts';
import type { SolverSettings } from './settings.ts';

/** What a PopulationSolver trains: a GraphModel with `models` > 1 (e.g. FullyConnectedPopulation) implements it. */
export interface PopulationModel {
  readonly models: number;
  attachData(data: SolverData): Promise<void>;
  setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void>;
  /** One rate for every model, or one per model. */
  setLearningRate(lr: number | readonly number[]): void;
  /** Queue one step of every model on the same rows; resolves to each model's loss. */
  stepModels(indices: Uint32Array): Promise<Float64Array>;
  /** Optional: several steps in one submit (GraphModel), each step's losses as `stepModels` would give them. */
  stepModelsMany?(indicesList: readonly Uint32Array[]): Promise<Float64Array[]>;
  accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array>;
  snapshot(): Promise<HostValues>;
  restore(snapshot: unknown): Promise<void>;
  /** Where model k's values sit in a snapshot. */
  snapshotRanges(k: number): { params: [number, number][]; state: [number, number][] };
}

/** A host copy of a GraphModel's parameter and state stores (a snapshot, or the stores of a ModelCheckpoint). */
export interface HostValues {
  params: Float32Array;
  state: Float32Array;
}

/** The training loop's view of M >= 1 models trained side by side on one minibatch stream (see runTraining). */
export interface LoopModel {
  readonly models: number;
  /** Once, before the first step: attach the data, set the update rule (and a population's own rates). */
  start(): Promise<void>;
  /** Each model's learning rate from the next step on (lr decay at each epoch end). */
  setLearningRates(rates: readonly number[]): void;
  /** Whether a model rebuilt from a checkpoint needs its rates set again (a population's checkpoint keeps only the config's rate). */
  readonly ratesLostOnRebuild: boolean;
  /** Whether `stepGroup` puts several steps in one submit (else it queues them one by one: the CPU reference, a model without the many-step method). */
  readonly multiStep: boolean;
  /** Queue one step of every model per entry of `indicesList`, in order; one promise per step, resolving to each model's loss. */
  stepGroup(indicesList: readonly Uint32Array[]): Promise<Float64Array>[];
  accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array>;
  /** The models `improved` did best at this check: keep their values, from the check's host checkpoint or (none) a snapshot now. */
  keepBest(improved: readonly number[], checkpoint?: ModelCheckpoint): Promise<void>;
  /** Put every model's best values back; false when none were kept or the model refused them. */
  restoreBest(): Promise<boolean>;
  /** The model as device-loss recovery sees it (checkpoints, rebuild), or null (the CPU reference: no device to lose). */
  readonly recoverable: Recoverable | null;
}

/**
 * One TrainableModel as a loop model of M = 1; the best values are the whole checkpoint or snapshot of the best check.
 *   const m = singleLoopModel(net, data, readSolverSettings(data, {}));
 *   await m.start(); const [loss] = await m.stepGroup([rows])[0]!;
 */
export function singleLoopModel(model: TrainableModel, data: SolverData, s: SolverSettings): LoopModel {
  let best: { values: unknown } | null = null;
  return {
    models: 1,
    ratesLostOnRebuild: false,
    recoverable: isRecoverable(model) ? model : null,
    async start() {
      await model.attachData(data);
      await model.setUpdateRule(s.updateRule, s.optimConfig);
    },
    setLearningRates: (rates) => model.setLearningRate(rates[0]!),
    multiStep: !!model.stepMany,
    stepGroup: (list) =>
      model.stepMany && list.length > 1
        ? splitSteps(
            model.stepMany(list).then((losses) => losses.map((l) => Float64Array.of(l))),
            list.length,
          )
        : list.map(async (indices) => Float64Array.of(await model.step(indices))),
    accuracyModels: async (split, indices) => Float64Array.of(await model.accuracy(split, indices)),
    async keepBest(_improved, checkpoint) {
      best = { values: checkpoint ?? (await model.snapshot()) };
    },
    restoreBest: async () =>
      best !== null &&
      model.restore(best.values).then(
        () => true,
        () => false,
      ),
  };
}

/**
 * A PopulationModel as a loop model of M = model.models; each model's best values are copied (snapshotRanges) from the
 * host copy of the check where it last improved into one composite, which `restoreBest` puts back.
 *   const m = populationLoopModel(pop, data, settings, [1e-3, 2e-3]);
 *   await m.start(); const losses = await m.stepGroup([rows])[0]!; // one per model
 */
export function populationLoopModel(
  model: PopulationModel,
  data: SolverData,
  s: SolverSettings,
  learningRates?: readonly number[],
): LoopModel {
  let best: HostValues | null = null;
  return {
    models: model.models,
    ratesLostOnRebuild: true,
    recoverable: isRecoverable(model) ? model : null,
    async start() {
      await model.attachData(data);
      await model.setUpdateRule(s.updateRule, s.optimConfig);
      if (learningRates) model.setLearningRate([...learningRates]);
    },
    setLearningRates: (rates) => model.setLearningRate([...rates]), // a copy: the model reads it when the queued steps are through
    multiStep: !!model.stepModelsMany,
    stepGroup: (list) =>
      model.stepModelsMany && list.length > 1 ? splitSteps(model.stepModelsMany(list), list.length) : list.map((i) => model.stepModels(i)),
    accuracyModels: (split, indices) => model.accuracyModels(split, indices),
    async keepBest(improved, checkpoint) {
      const from = checkpoint ?? (await model.snapshot());
      if (!best) best = { params: from.params.slice(), state: from.state.slice() };
      else for (const k of improved) copyRanges(from, best, model.snapshotRanges(k));
    },
    restoreBest: async () =>
      best !== null &&
      model.restore(best).then(
        () => true,
        () => false,
      ),
  };
}

/** One promise per step from the promise of a whole group's losses. */
function splitSteps(group: Promise<Float64Array[]>, steps: number): Promise<Float64Array>[] {
  return Array.from({ length: steps }, (_, j) => group.then((losses) => losses[j]!));
}

/** Copy model k's ranges (see snapshotRanges) from one host copy into another. */
function copyRanges(from: HostValues, to: HostValues, r: { params: [number, number][]; state: [number, number][] }): void {
  for (const [a, b] of r.params) to.params.set(from.params.subarray(a, b), a);
  for (const [a, b] of r.state) to.state.set(from.state.subarray(a, b), a);
}
