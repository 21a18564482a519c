// The update rules on the GPU (shaders/optim.wgsl): the multi-tensor optimizer graph op, the rule state a model keeps, and createOptimizer.
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { createBindGroup, getKernel, makeUniformData, type Kernel, scalarVariant } from '../gpu/kernel.ts';
import { gridFor, type Dispatch } from '../gpu/dispatch.ts';
import { refBuffer, refOffset, refSize, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { createTensorStore, type StoreLayout, type TensorStore } from '../graph/store.ts';
import type { OpDef } from '../graph/graph.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { makeRuleConfig, updateRules, type OptimizerRule } from './update-rules.ts';

export { updateRules, updateRuleNames, isUpdateRule, makeRuleConfig, type OptimizerRule } from './update-rules.ts';

/** Workgroup size, and about how many elements (vec4s or f32s) each invocation takes. */
const wg = 64;
const perInvocation = 8;

/** optim.wgsl with f32 elements, for a parameter whose length is not a multiple of 4 (WGSL has no type overrides). */
const optimScalarWgsl = scalarVariant(optimWgsl, 'shaders/optim.wgsl');

/** The rule's kernel for `count` f32: vec4 elements when count is a multiple of 4, else f32; and its length in those. */
async function optimKernel(scope: GpuScope, rule: OptimizerRule, count: number): Promise<{ kernel: Kernel; length: number }> {
  const vec4 = count % 4 === 0;
  const kernel = await getKernel(scope.ctx, { name: 'optim', source: vec4 ? optimWgsl : optimScalarWgsl, entryPoint: rule, constants: { WG: wg } });
  return { kernel, length: vec4 ? count / 4 : count };
}

/** The hyperparameter uniform's fields for the step numbered `t` (Adam's corrections 1/(1-beta^t), in f64). */
function hyperValues(c: Record<string, number>, t: number): Record<string, number> {
  const beta1 = c.beta1 ?? 0;
  const beta2 = c.beta2 ?? 0;
  const decayRate = c.decayRate ?? 0;
  return {
    learningRate: c.learningRate!, momentum: c.momentum ?? 0, decayRate, beta1, beta2, epsilon: c.epsilon ?? 0,
    oneMinusDecayRate: 1 - decayRate, oneMinusBeta1: 1 - beta1, oneMinusBeta2: 1 - beta2,
    mCorrection: 1 / (1 - beta1 ** t), vCorrection: 1 / (1 - beta2 ** t),
  };
}

/** One update launch over `count` f32 of w, dw and the rule's state (s1, s2). */
async function createUpdateDispatch(
  scope: GpuScope, rule: OptimizerRule, a: { w: TensorRef; dw: TensorRef; state: TensorRef[]; hyper: GPUBuffer; count: number; label: string },
): Promise<Dispatch> {
  const { kernel, length } = await optimKernel(scope, rule, a.count);
  const resources: Record<string, TensorRef> = { w: a.w, dw: a.dw, hyper: a.hyper };
  resources.shape = scope.createUniformBuffer(kernel, 'shape', { count: length }, `${a.label} shape`);
  a.state.forEach((s, j) => { resources[j === 0 ? 's1' : 's2'] = s; });
  return {
    kernel, bindGroup: createBindGroup(scope.ctx, kernel, resources), workgroups: gridFor(length, wg * perInvocation),
    label: `${a.label} count=${a.count}${length === a.count ? '' : ' (vec4)'}`,
  };
}

/** What a model keeps for its update rule across steps: the config, the hyperparameter uniform, one slot store per state. */
export interface UpdateRuleState {
  rule: OptimizerRule;
  /** The config with defaults filled in; Adam's `t` counts the steps begun. */
  config: Record<string, number>;
  hyper: GPUBuffer;
  /** Per-parameter state stores (velocity, cache, m, v), laid out as the parameters (none without a layout). */
  slots: Record<string, TensorStore>;
  /** Once per step, before its submit: Adam's t += 1 and the bias corrections (f64 on the host); one queue.writeBuffer. */
  beginStep(): void;
  /** New learning rate from the next `beginStep()` (the Solver's lrDecay). */
  setLearningRate(lr: number): void;
}

/**
 * The state of update rule `rule` for parameters laid out as `layout`: hyperparameters in one uniform, each
 * state slot a zero store of the same layout (so one dispatch can update every parameter).
 *   const s = await createUpdateRuleState(scope, 'adam', { learningRate: 1e-3 }, params.layout);
 *   s.beginStep(); // then submit a plan with an optimizer node
 */
export async function createUpdateRuleState(scope: GpuScope, rule: OptimizerRule, config: object, layout: StoreLayout | null, where = 'createOptimizer'): Promise<UpdateRuleState> {
  const c = makeRuleConfig(rule, config, where);
  const { kernel } = await optimKernel(scope, rule, 4);
  // The uniform starts as the first step's, so a step that forgot beginStep() still updates sensibly.
  const hyper = scope.createUniformBuffer(kernel, 'hyper', hyperValues(c, (c.t ?? 0) + 1), `optimizer ${rule} hyper`);
  const slots = layout ? Object.fromEntries(updateRules[rule].slots.map((s) => [s, createTensorStore(scope, layout, `optimizer ${rule} ${s}`)])) : {};
  return {
    rule, config: c, hyper, slots,
    beginStep() {
      if (rule === 'adam') c.t! += 1;
      scope.ctx.device.queue.writeBuffer(hyper, 0, makeUniformData(kernel, 'hyper', hyperValues(c, c.t ?? 1)));
    },
    setLearningRate(lr: number) {
      if (!Number.isFinite(lr)) throw new Error(`optimizer ${rule}: learning rate must be a finite number, got ${lr}`);
      c.learningRate = lr;
    },
  };
}

/** One parameter to update in place: w -= f(dw), `count` f32 each. */
export interface OptimizerParam {
  name: string;
  w: TensorRef;
  dw: TensorRef;
  count: number;
}

/** A standalone optimizer: replay `dispatches` every step after the backward pass, calling `beginStep()` before each submit. */
export interface Optimizer {
  rule: OptimizerRule;
  /** One per parameter, in the order given. */
  dispatches: Dispatch[];
  /** The rule's hyperparameters with defaults filled in (camelCase); Adam's `t` counts the steps begun. */
  config: Record<string, number>;
  beginStep(): void;
  setLearningRate(lr: number): void;
  /** Zero-initialised state per parameter (params order): velocity (sgd_momentum), cache (rmsprop), m and v (adam). */
  state: Record<string, TensorRef[]>;
}

/**
 * Build an update rule over separate parameter buffers, one dispatch each: sgd, sgd_momentum, rmsprop or adam,
 * cs231n semantics and defaults; an unknown rule or config key is an error naming it. (A GraphModel instead puts
 * `optimizerOp` in its training graph: one dispatch for all parameters.)
 *   const opt = await createOptimizer(scope, 'adam', { learningRate: 1e-3 }, [{ name: 'W1', w: W1, dw: dW1, count: 3072 * 100 }]);
 *   opt.beginStep(); await runDispatches(gpu, [...forwardBackward, ...opt.dispatches]);
 */
export async function createOptimizer(scope: GpuScope, rule: OptimizerRule, config: object, params: OptimizerParam[]): Promise<Optimizer> {
  const names = new Set<string>();
  for (const p of params) {
    const op = `optimizer ${rule} ${p.name}`;
    if (names.has(p.name)) throw new Error(`createOptimizer(${rule}): parameter name "${p.name}" appears twice`);
    names.add(p.name);
    assertCount(op, 'count', p.count);
    assertBuffer(op, 'w', p.w, p.count);
    assertBuffer(op, 'dw', p.dw, p.count);
  }
  const s = await createUpdateRuleState(scope, rule, config, null);
  const slotNames = updateRules[rule].slots;
  const state: Record<string, TensorRef[]> = Object.fromEntries(slotNames.map((n) => [n, params.map((p) => scope.createTensorBuffer(p.count * 4, `optimizer ${rule} ${p.name} ${n}`))]));
  const dispatches = await Promise.all(params.map((p, k) => createUpdateDispatch(scope, rule, {
    w: p.w, dw: p.dw, state: slotNames.map((n) => state[n]![k]!), hyper: s.hyper, count: p.count, label: `optimizer ${rule} ${p.name}`,
  })));
  return { rule, dispatches, config: s.config, state, beginStep: s.beginStep, setLearningRate: s.setLearningRate };
}

// The graph op: a multi-tensor update, as fused/foreach Adam: one dispatch per run of tensors laid out alike.

/**
 * Update parameters in place by rule `rule`. Inputs [hyper, dW_1..dW_k]; updates [W_1..W_k, then each state
 * slot's tensors in parameter order]. Where the parameters, gradients and slots sit in stores of one layout
 * (a GraphModel's), the whole update is ONE dispatch over the stores; otherwise one per parameter. The
 * padding between tensors is zero in every store and stays zero under every rule.
 */
export const optimizerOp: OpDef<{ rule: OptimizerRule }> = {
  name: 'optimizer',
  outputs(inputs, { rule }) {
    if (!updateRules[rule]) throw new Error(`optimizer: unknown update rule "${rule}"`);
    if (inputs.length < 2) throw new Error('optimizer: needs the hyperparameters and at least one gradient');
    return [];
  },
  async encode(scope, { inputs: [hyper, ...dws], updates }, node) {
    const { rule } = node.attrs;
    const k = dws.length;
    const slots = updateRules[rule].slots.length;
    if (updates.length !== k * (1 + slots)) throw new Error(`optimizer ${rule}: ${updates.length} updated tensors for ${k} parameters with ${slots} state slot(s)`);
    const ws = updates.slice(0, k);
    const state = (i: number) => Array.from({ length: slots }, (_, j) => updates[k + j * k + i]!);
    const hyperBuf = refBuffer(hyper!);
    const all = [ws, dws, ...Array.from({ length: slots }, (_, j) => updates.slice(k + j * k, k + (j + 1) * k))];
    const base = all.map((list) => refOffset(list[0]!));
    const aligned = all.every((list, a) => list.every((r, i) => refBuffer(r) === refBuffer(list[0]!) && refOffset(r) - base[a]! === refOffset(ws[i]!) - base[0]!));
    if (aligned) {
      const end = Math.max(...ws.map((r) => refOffset(r) + refSize(r)));
      const bytes = Math.min(Math.ceil((end - base[0]!) / 16) * 16, ...all.map((list, a) => refBuffer(list[0]!).size - base[a]!));
      const span = (r: TensorRef): TensorRef => ({ buffer: refBuffer(r), offset: refOffset(r), size: bytes });
      return [await createUpdateDispatch(scope, rule, {
        w: span(ws[0]!), dw: span(dws[0]!), state: state(0).map(span), hyper: hyperBuf, count: bytes / 4,
        label: `optimizer ${rule} x${k} tensors (multi-tensor)`,
      })];
    }
    return Promise.all(ws.map((w, i) => createUpdateDispatch(scope, rule, {
      w, dw: dws[i]!, state: state(i), hyper: hyperBuf, count: node.updates[i]!.shape.reduce((a, b) => a * b, 1), label: `optimizer ${rule} ${node.updates[i]!.name}`,
    })));
  },
};
