// What a panel's settings will allocate, checked before anything is built: each tensor against the device's buffer limits, a speedup case against its element bound, and the run's total against a memory budget (the page and the CLI share this).
import { formatBytes, planPopulationGroups } from '../src/engine.ts';
import type { PanelName, PanelSettings } from './url-state.ts';

/** The most elements one speedup case N×D may have: its float64 check keeps several N×D copies on the CPU. */
export const MAX_SPEEDUP_ELEMENTS = 2 ** 22;

/**
 * The most bytes of GPU buffers one run may plan (4 GiB): what a browser tab can count on from a typical GPU; WebGPU
 * does not say how much memory a device has, so a run that needs more is refused here rather than left to thrash.
 */
export const MEMORY_BUDGET_BYTES = 4 * 2 ** 30;

/** The device limits a planned tensor must fit (a GPUSupportedLimits has them). */
export type SizeLimits = Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>;

/** A tensor a run will create: the setting that sizes it (a field key), its name, shape, and whether a kernel binds it whole. */
export interface PlannedTensor {
  key: string;
  name: string;
  shape: number[];
  /** Bound whole by a kernel (checked against maxStorageBufferBindingSize too); a store is bound by ranges. */
  bound: boolean;
}

/** A share of a run's planned bytes: the setting that sizes it, what it is, its bytes. */
export interface PlannedPart {
  key: string;
  what: string;
  bytes: number;
}

/** Names a setting in a message: the CLI's flag and text (`--hidden 100000`), the page's label and text. */
export type OptionNamer = (key: string) => string;

const F32 = 4;
/** Optimizer state slots per parameter (src/ops/update-rules.ts). */
const slots: Record<string, number> = { sgd: 0, sgd_momentum: 1, rmsprop: 1, adam: 2 };
/** Buffers of [batch, width] per layer a training step keeps (outputs, saved xhat, gradients), at least. */
const activationCopies = 6;
const numeric = (v: unknown): number[] => (Array.isArray(v) ? (v as unknown[]).filter((x): x is number => Number.isInteger(x)) : []);

/** Layer sizes of a training panel's net: CIFAR-10's 3072 inputs, the hidden layers, 10 classes. */
function dimsOf(s: PanelSettings): number[] {
  return [3072, ...numeric(s.hidden), 10];
}

/** The batch sizes a panel trains at, each with the field that sets it. */
function batchesOf(panel: PanelName, s: PanelSettings): [string, number][] {
  if (panel === 'batchsize')
    return [...numeric(s.batchSizes).map((b): [string, number] => ['batchSizes', b]), ['baselineBatch', s.baselineBatch as number]];
  return [['batchSize', s.batchSize as number]];
}

/**
 * The tensors a panel's settings make, with the field that sizes each.
 *   plannedTensors('batchnorm', { hidden: [100000], batchSize: 50 })[0]; // { key: 'hidden', name: 'W1', shape: [3072, 100000], bound: true }
 */
export function plannedTensors(panel: PanelName, s: PanelSettings): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  if (panel === 'batchnorm' || panel === 'sweep' || panel === 'batchsize') {
    const dims = dimsOf(s);
    for (let i = 0; i + 1 < dims.length; i++) out.push({ key: 'hidden', name: `W${i + 1}`, shape: [dims[i]!, dims[i + 1]!], bound: true });
    const widest = Math.max(...dims);
    for (const [key, b] of batchesOf(panel, s).filter(([, b]) => Number.isInteger(b)))
      out.push({ key, name: `a minibatch's activations (batch ${b} x width ${widest})`, shape: [b, widest], bound: true });
  } else if (panel === 'forward') {
    const [n, d1, d2, d3] = [s.n, s.d1, s.d2, s.d3] as number[];
    out.push({ key: 'n', name: 'x', shape: [n!, d1!], bound: true }, { key: 'n', name: 'h', shape: [n!, d2!], bound: true });
    out.push({ key: 'd2', name: 'W1', shape: [d1!, d2!], bound: true }, { key: 'd3', name: 'W2', shape: [d2!, d3!], bound: true });
  } else if (panel === 'speedup') {
    for (const [n, d] of (s.sizes ?? []) as [number, number][])
      out.push({ key: 'sizes', name: `x of case ${n}x${d}`, shape: [n, d], bound: true });
  }
  return out;
}

/**
 * The GPU bytes a run plans, by part: per model its parameters, gradients and optimizer state (times the models kept at
 * once: both of experiment 1, every run of the batch-size panel, a population of the sweep), a step's activations, and
 * the images. An estimate from below: kernels' scratch buffers and uniforms are left out.
 *   plannedBytes('batchnorm', settings).total; // bytes
 */
export function plannedBytes(panel: PanelName, s: PanelSettings): { total: number; parts: PlannedPart[] } {
  const parts: PlannedPart[] = [];
  if (panel === 'batchnorm' || panel === 'sweep' || panel === 'batchsize') {
    const dims = dimsOf(s);
    const hidden = dims.slice(1, -1).reduce((a, b) => a + b, 0);
    let params = 0;
    for (let i = 0; i + 1 < dims.length; i++) params += dims[i]! * dims[i + 1]! + dims[i + 1]!;
    params += 2 * hidden; // gamma, beta (and layer norm's)
    const norms = s.normalization === 'both' ? 2 : 1;
    const models = panel === 'batchnorm' ? 2 : panel === 'sweep' ? (s.numScales as number) : numeric(s.batchSizes).length * norms + 1;
    const perModel = params * (2 + (slots[s.updateRule as string] ?? 2)) + 2 * hidden; // + running mean and variance
    const what = `the ${models} model${models > 1 ? 's' : ''}' parameters, gradients and ${s.updateRule} state`;
    parts.push({ key: 'hidden', what, bytes: F32 * perModel * models });
    const batch = Math.max(...batchesOf(panel, s).map(([, b]) => b));
    const key = panel === 'batchsize' ? 'batchSizes' : 'batchSize';
    parts.push({
      key,
      what: `a step's activations (batch ${batch})`,
      bytes: F32 * activationCopies * batch * dims.reduce((a, b) => a + b, 0),
    });
    const images = (s.numTrain as number) + (s.numVal as number);
    parts.push({ key: 'numTrain', what: `${images} images (uint8)`, bytes: images * 3072 });
  } else {
    for (const t of plannedTensors(panel, s))
      parts.push({ key: t.key, what: t.name, bytes: F32 * activationCopies * t.shape.reduce((a, b) => a * b, 1) });
  }
  return { total: parts.reduce((a, p) => a + p.bytes, 0), parts };
}

/**
 * Throws, before anything is built, when a tensor the settings make exceeds the device's maxBufferSize or
 * maxStorageBufferBindingSize (f32; skipped without `limits`), a speedup case exceeds MAX_SPEEDUP_ELEMENTS, or the
 * run's planned bytes exceed `budget`; the message starts with the setting that caused it.
 *   checkPlannedSizes('batchnorm', { hidden: [100000], batchSize: 50 }, limits, (k) => `--${k} 100000`);
 *   // Error: --hidden 100000: W1 is 3072x100000 f32 = 1.23 GB > maxBufferSize 1.07 GB
 */
export function checkPlannedSizes(
  panel: PanelName,
  s: PanelSettings,
  limits: SizeLimits | null,
  option: OptionNamer,
  budget = MEMORY_BUDGET_BYTES,
): void {
  for (const t of plannedTensors(panel, s)) {
    const bytes = t.shape.reduce((a, b) => a * b, F32);
    for (const limit of (t.bound ? ['maxBufferSize', 'maxStorageBufferBindingSize'] : ['maxBufferSize']) as (keyof SizeLimits)[])
      if (limits && bytes > limits[limit])
        throw new Error(
          `${option(t.key)}: ${t.name} is ${t.shape.join('x')} f32 = ${formatBytes(bytes)} > ${limit} ${formatBytes(limits[limit])}`,
        );
  }
  if (panel === 'speedup')
    for (const [n, d] of (s.sizes ?? []) as [number, number][])
      if (n * d > MAX_SPEEDUP_ELEMENTS)
        throw new Error(
          `${option('sizes')}: ${n}x${d} = ${n * d} elements > ${MAX_SPEEDUP_ELEMENTS}, the most one case may have (its float64 check keeps several copies)`,
        );
  const { total, parts } = plannedBytes(panel, s);
  if (total > budget) {
    const top = parts.reduce((a, p) => (p.bytes > a.bytes ? p : a));
    const list = parts.map((p) => `${p.what} ${formatBytes(p.bytes)}`).join(', ');
    throw new Error(
      `${option(top.key)}: the run plans ${formatBytes(total)} (${list}) > the memory budget ${formatBytes(budget)}${populationFit(panel, s, limits, option, budget)}`,
    );
  }
}

/** For a sweep over the budget: how many of its nets one population may hold in the budget (planPopulationGroups; the images excluded). */
function populationFit(panel: PanelName, s: PanelSettings, limits: SizeLimits | null, option: OptionNamer, budget: number): string {
  if (panel !== 'sweep') return '';
  const images = ((s.numTrain as number) + (s.numVal as number)) * 3072;
  const net = {
    dims: dimsOf(s),
    normalization: 'batchnorm' as const,
    updateRule: s.updateRule as string,
    batchSize: s.batchSize as number,
  };
  const room = Math.max(1, Math.floor(budget - images));
  const { maxModels } = planPopulationGroups(limits ?? { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 }, net, {
    memoryBudget: room,
  });
  return `; at most ${maxModels} of these nets fit it as one population (${option('numScales')} asks for ${s.numScales as number})`;
}
