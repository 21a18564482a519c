// How many models of a population fit one group (each store and activation within one storage binding) and a memory budget: plain arithmetic on the device's limits.
import { sizeOf } from '../graph/graph.ts';
import { storeAlignment } from '../graph/store.ts';
import { updateRules, isUpdateRule } from '../ops/update-rules.ts';
import { makeNetTensors, type Normalization } from '../reference/fc-net-options.ts';

/** The limits a group must fit (a GPUSupportedLimits has them). */
export type GroupLimits = Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>;

/** What sizes one model of a population: its layers, normalization, update rule and the training batch. */
export interface PopulationNet {
  /** Layer sizes [inputDim, ...hidden, numClasses] as the net has them (hidden widths are stored rounded up to 4). */
  dims: readonly number[];
  normalization: Normalization;
  updateRule: string;
  batchSize: number;
}

/** Options of the plan: the models wanted, a cap on a group (tests force splits with it), the memory budget. */
export interface PopulationGroupOptions {
  models?: number;
  maxModelsPerGroup?: number;
  /** Bytes the population may use (default 4 GiB, demo/size-limits.ts's: WebGPU does not report a device's memory). */
  memoryBudget?: number;
}

/** Buffers of [batch, width] per layer a training step keeps per model (outputs, saved xhat, gradients): an estimate, as demo/size-limits.ts's. */
export const activationCopies = 6;
/** The default memory budget, 4 GiB (demo/size-limits.ts's MEMORY_BUDGET_BYTES): what a browser tab can count on. */
export const defaultPopulationBudget = 4 * 2 ** 30;

/** The plan: bytes a model needs by part, the largest group that fits one binding, the group sizes, the most models the budget holds. */
export interface PopulationGroupPlan {
  /** Per model: parameters, gradients, the rule's slots (each the params' size), running statistics, a step's activations (estimate). */
  perModel: { params: number; grads: number; slots: number; state: number; activations: number; total: number };
  /** min(maxStorageBufferBindingSize, maxBufferSize), and which of the two it is. */
  binding: number;
  limit: 'maxStorageBufferBindingSize' | 'maxBufferSize';
  /** The most models one group may hold: its parameter store (bound whole by the optimizer) and its widest activation fit `binding`. */
  modelsPerGroup: number;
  /** The group sizes of `models` (contiguous models, the last group the remainder); empty when `models` is not given. */
  groups: number[];
  memoryBudget: number;
  budgetFrom: 'memoryBudget' | 'default 4 GiB';
  /** The most models the budget holds (the training data excluded: it is uploaded once for every group). */
  maxModels: number;
}

/**
 * Plan a population's groups on a device: per-model bytes from the net's tensor shapes (hidden widths stored rounded
 * up to 4, each tensor's store range 256-byte aligned), the largest group under the binding limits, the most models
 * under the memory budget (training data excluded).
 *   planPopulationGroups({ maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 }, { dims: [3072, 50, 10], normalization: 'batchnorm', updateRule: 'adam', batchSize: 50 }).modelsPerGroup; // 209
 *   planPopulationGroups(limits, net, { models: 500 }).groups; // [209, 209, 82]
 */
export function planPopulationGroups(limits: GroupLimits, net: PopulationNet, options: PopulationGroupOptions = {}): PopulationGroupPlan {
  const { models, maxModelsPerGroup, memoryBudget } = options;
  if (!isUpdateRule(net.updateRule)) throw new Error(`planPopulationGroups: unknown update rule "${net.updateRule}"`);
  if (!Number.isInteger(net.batchSize) || net.batchSize < 1)
    throw new Error(`planPopulationGroups: batchSize must be an integer >= 1, got ${net.batchSize}`);
  if (models !== undefined && !(Number.isInteger(models) && models >= 1))
    throw new Error(`planPopulationGroups: models must be an integer >= 1, got ${models}`);
  if (maxModelsPerGroup !== undefined && !(Number.isInteger(maxModelsPerGroup) && maxModelsPerGroup >= 1))
    throw new Error(`maxModelsPerGroup must be an integer >= 1, got ${maxModelsPerGroup}`);
  if (memoryBudget !== undefined && !(Number.isSafeInteger(memoryBudget) && memoryBudget > 0))
    throw new Error(`planPopulationGroups: memoryBudget must be a whole number of bytes > 0, got ${memoryBudget}`);
  const stored = net.dims.map((d, i) => (i === 0 || i === net.dims.length - 1 ? d : Math.ceil(d / 4) * 4));
  const tensors = makeNetTensors({ dims: stored, normalization: net.normalization });
  const params = tensors.filter((t) => !t.name.startsWith('running')).map((t) => sizeOf(t.shape) * 4);
  const state = tensors.filter((t) => t.name.startsWith('running')).map((t) => sizeOf(t.shape) * 4);
  const widest = Math.max(...stored.slice(1));
  // a store of m models: each tensor's m blocks in one range, the range padded to the alignment
  const storeBytes = (perModel: number[], m: number) =>
    perModel.reduce((a, b) => a + Math.ceil((m * b) / storeAlignment) * storeAlignment, 0);
  const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const limit = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const fits = (m: number) =>
    storeBytes(params, m) <= binding && storeBytes(state, m) <= binding && net.batchSize * m * widest * 4 <= binding;
  if (!fits(1))
    throw new Error(
      `one model of layers [${net.dims.join(', ')}] needs a ${storeBytes(params, 1)}-byte parameter store, more than ${limit} (${binding} bytes)`,
    );
  let lo = 1; // fits(lo); find the largest m that fits
  let hi = 2;
  while (fits(hi)) [lo, hi] = [hi, hi * 2];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const modelsPerGroup = Math.min(lo, maxModelsPerGroup ?? Infinity);
  const p = params.reduce((a, b) => a + b, 0);
  const s = state.reduce((a, b) => a + b, 0);
  const slots = updateRules[net.updateRule].slots.length * p;
  const activations = activationCopies * net.batchSize * stored.slice(1).reduce((a, b) => a + b, 0) * 4;
  const perModel = { params: p, grads: p, slots, state: s, activations, total: 2 * p + slots + s + activations };
  const budget = memoryBudget ?? defaultPopulationBudget;
  return {
    perModel,
    binding,
    limit,
    modelsPerGroup,
    groups: models === undefined ? [] : makeGroupSizes(models, modelsPerGroup),
    memoryBudget: budget,
    budgetFrom: memoryBudget === undefined ? 'default 4 GiB' : 'memoryBudget',
    maxModels: Math.floor(budget / perModel.total),
  };
}

/**
 * Split `models` into contiguous groups of at most `perGroup` (the last the remainder).
 *   makeGroupSizes(7, 3); // [3, 3, 1]
 *   makeGroupSizes(4, 10); // [4]
 */
export function makeGroupSizes(models: number, perGroup: number): number[] {
  const out: number[] = [];
  for (let left = models; left > 0; left -= perGroup) out.push(Math.min(perGroup, left));
  return out;
}
