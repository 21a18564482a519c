// The update rules' kernel (shaders/optim.wgsl) and one update launch over runs of parameters, as the optimizer op and createOptimizer record it.
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { getKernel, type Kernel, scalarVariant } from '../gpu/kernel.ts';
import { createDispatch, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { assertCount } from './op-checks.ts';
import type { OptimizerRule } from './update-rules.ts';
/** Workgroup size of an update launch. */
export const wg = 64;

/** Workgroups an update launch on a GPU aims at (about 8 an SM of a 132-SM GPU) before it takes 8 elements a lane. */
export const gpuUpdateTargetGroups = 1024;

/**
 * About how many elements (vec4s or f32s) each invocation takes, for a launch over `units` of them: many on CPU
 * adapters, where each invocation's setup (its segment's binary search, the model's rate and alive flag: per-lane
 * gathers) costs as much as several elements (a population-of-20 Adam step: 8 -> 128 a lane took 34 ms to 25 on
 * SwiftShader); few on GPUs, which want many workgroups: 8, or fewer where 8 would leave a small store (one net's)
 * under `gpuUpdateTargetGroups` workgroups (down to 1).
 *   perInvocation(gpu, 888_000); // 8 on a GPU (20 [50]x7 nets in vec4s: ~1 740 workgroups), 128 on SwiftShader
 *   perInvocation(gpu, 87_000);  // 1 on a GPU (the seed's [100]x5 net in vec4s: ~1 370 workgroups, not ~170)
 */
export function perInvocation(ctx: GpuContext, units: number): number {
  if (isCpuAdapter(ctx.adapter)) return 128;
  return Math.max(1, Math.min(8, Math.floor(units / (wg * gpuUpdateTargetGroups))));
}

/** optim.wgsl with f32 elements, for a parameter whose length is not a multiple of 4 (WGSL has no type overrides). */
const optimScalarWgsl = scalarVariant(optimWgsl, 'shaders/optim.wgsl');

/** The rule's kernel: vec4 elements when every segment starts and ends on a multiple of 4 f32, else f32; and that unit. */
export async function optimKernel(scope: GpuScope, entryPoint: string, vec4: boolean): Promise<{ kernel: Kernel; unit: number }> {
  const kernel = await getKernel(scope.ctx, {
    name: 'optim',
    source: vec4 ? optimWgsl : optimScalarWgsl,
    entryPoint,
    constants: { WG: wg },
  });
  return { kernel, unit: vec4 ? 4 : 1 };
}

/** The hyperparameter uniform's fields for the step numbered `t` (Adam's corrections 1/(1-beta^t), in f64); the rates are per model. */
export function hyperValues(c: Record<string, number>, t: number): Record<string, number> {
  const beta1 = c.beta1 ?? 0;
  const beta2 = c.beta2 ?? 0;
  const decayRate = c.decayRate ?? 0;
  return {
    momentum: c.momentum ?? 0,
    decayRate,
    beta1,
    beta2,
    epsilon: c.epsilon ?? 0,
    oneMinusDecayRate: 1 - decayRate,
    oneMinusBeta1: 1 - beta1,
    oneMinusBeta2: 1 - beta2,
    mCorrection: 1 / (1 - beta1 ** t),
    vCorrection: 1 / (1 - beta2 ** t),
  };
}

/**
 * A run of parameters to update: `models` blocks of `perModel` f32 from f32 offset `start` of the bound ranges (model
 * k's from start + k·perModel), with its L2 strength (one, or one per model; default 0): the rule steps on dw + reg·w.
 */
export interface UpdateSegment {
  start: number;
  perModel: number;
  reg?: number | readonly number[];
}

/** What every update launch binds besides w, dw and the slots: the hyperparameters, each model's rate and alive flag. */
export interface UpdateBindings {
  hyper: TensorRef;
  rates: TensorRef;
  alive: TensorRef;
  models: number;
  /** Tuning knob (tests, the self-test): elements (vec4s or f32s) each invocation takes; default `perInvocation` (128 on CPU adapters, 1 to 8 on GPUs by the launch's size). */
  elementsPerLane?: number;
}

/** One update launch over the segments of w, dw and the rule's state (s1, s2): one table of (segment, model) workgroup runs. */
export async function createUpdateDispatch(
  scope: GpuScope,
  rule: OptimizerRule,
  a: UpdateBindings & { w: TensorRef; dw: TensorRef; state: TensorRef[]; segments: UpdateSegment[]; label: string },
): Promise<Dispatch> {
  const vec4 = a.segments.every((s) => s.start % 4 === 0 && s.perModel % 4 === 0);
  const { kernel, unit } = await optimKernel(scope, rule, vec4);
  const units = a.segments.reduce((n, s) => n + (s.perModel / unit) * a.models, 0);
  const lanes = a.elementsPerLane ?? perInvocation(scope.ctx, units);
  assertCount(a.label, 'elementsPerLane', lanes);
  const table = new Uint32Array(a.segments.length * 5);
  const regs: number[] = [];
  let groups = 0;
  a.segments.forEach((s, i) => {
    const perModel = s.perModel / unit;
    const g = Math.max(1, Math.ceil(perModel / (wg * lanes)));
    const reg = s.reg ?? 0;
    const list = typeof reg === 'number' ? new Array<number>(a.models).fill(reg) : [...reg];
    if (list.length !== a.models || !list.every(Number.isFinite))
      throw new Error(`${a.label}: segment ${i} needs ${a.models} finite L2 strength(s), got [${list.join(', ')}]`);
    // the fields of `Segment` in order: start, perModel, groups, firstGroup, regBase
    table.set([s.start / unit, perModel, g, groups, regs.length], i * 5);
    regs.push(...list);
    groups += g * a.models;
  });
  const resources: Record<string, TensorRef> = { w: a.w, dw: a.dw, hyper: a.hyper, rates: a.rates, alive: a.alive };
  resources.shape = scope.createUniformBuffer(kernel, 'shape', { segments: a.segments.length, models: a.models }, `${a.label} shape`);
  resources.segments = scope.createTensorBuffer(table, `${a.label} segments`);
  resources.regs = scope.createTensorBuffer(Float32Array.from(regs), `${a.label} L2 strengths`);
  a.state.forEach((st, j) => {
    resources[j === 0 ? 's1' : 's2'] = st;
  });
  for (const name of Object.keys(resources)) if (!kernel.bindings[name]) delete resources[name]; // e.g. sgd reads no hyperparameter
  const x = Math.min(groups, maxWorkgroupsPerDim);
  const elements = a.segments.reduce((n, s) => n + s.perModel * a.models, 0);
  const l2 = regs.some((r) => r !== 0) ? ' +L2' : '';
  const label = `${a.label} count=${elements}${vec4 ? ' (vec4)' : ''}${a.models > 1 ? ` models=${a.models}` : ''}${l2}`;
  return createDispatch(scope, kernel, resources, [x, Math.ceil(groups / x), 1], label);
}
