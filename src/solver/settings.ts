// A solver's settings: its options checked against the data, with cs231n's defaults filled in; the sampler's row draws.
import type { Rng } from '../reference/rng.ts';
import type { SolverData } from './model.ts';
import { isUpdateRule, updateRuleNames, updateRules } from '../ops/update-rules.ts';
import type { SolverOptions } from './solver.ts';
import { readStepsPerSubmit } from './step-groups.ts';

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
  'stepsPerSubmit',
];

/** The device-loss options every solver takes (see src/solver/recovery.ts). */
export const deviceLossKeys = ['onDeviceLost', 'requestDevice', 'onRecovery'];

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
  /** `optimConfig.learningRate`, or the rule's default: where lr decay starts. */
  learningRate: number;
  /** Steps per submit: a number (1 = one step a submit), or 'auto' (the default; see createSubmitPacer). */
  stepsPerSubmit: number | 'auto';
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
    learningRate: o.optimConfig?.learningRate ?? updateRules[updateRule].defaults.learningRate!,
    stepsPerSubmit: readStepsPerSubmit(o.stepsPerSubmit, who),
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
  if (o.onDeviceLost !== undefined && o.onDeviceLost !== 'recover' && o.onDeviceLost !== 'stop') {
    throw new Error(`${who}: onDeviceLost must be 'recover' or 'stop', got ${String(o.onDeviceLost)}`);
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
