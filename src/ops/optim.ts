// The update rules on the GPU (shaders/optim.wgsl): the multi-tensor optimizer graph op, the rule state a model keeps, and createOptimizer.
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { createBindGroup, getKernel, makeUniformData, type Kernel, scalarVariant } from '../gpu/kernel.ts';
import { maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import { refBuffer, refOffset, refSize, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { createTensorStore, type StoreLayout, type TensorStore } from '../graph/store.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';
import { aliveValueName, hyperValueName, ratesValueName, slotValueName } from '../graph/model-definition.ts';
import type { GpuContext } from '../gpu/device.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { makeRuleConfig, updateRules, type OptimizerRule } from './update-rules.ts';

export { updateRules, updateRuleNames, isUpdateRule, makeRuleConfig, type OptimizerRule } from './update-rules.ts';

/**
 * Workgroup size, and about how many elements (vec4s or f32s) each invocation takes: many on CPU adapters, where
 * each invocation's setup (its segment's binary search, the model's rate and alive flag: per-lane gathers) costs
 * as much as several elements (a population-of-20 Adam step: 8 -> 128 a lane took 34 ms to 25 on SwiftShader);
 * few on GPUs, which want many workgroups.
 */
const wg = 64;
const perInvocation = (ctx: GpuContext) => (isCpuAdapter(ctx.adapter) ? 128 : 8);

/** optim.wgsl with f32 elements, for a parameter whose length is not a multiple of 4 (WGSL has no type overrides). */
const optimScalarWgsl = scalarVariant(optimWgsl, 'shaders/optim.wgsl');

/** The rule's kernel: vec4 elements when every segment starts and ends on a multiple of 4 f32, else f32; and that unit. */
async function optimKernel(scope: GpuScope, entryPoint: string, vec4: boolean): Promise<{ kernel: Kernel; unit: number }> {
  const kernel = await getKernel(scope.ctx, {
    name: 'optim',
    source: vec4 ? optimWgsl : optimScalarWgsl,
    entryPoint,
    constants: { WG: wg },
  });
  return { kernel, unit: vec4 ? 4 : 1 };
}

/** The hyperparameter uniform's fields for the step numbered `t` (Adam's corrections 1/(1-beta^t), in f64); the rates are per model. */
function hyperValues(c: Record<string, number>, t: number): Record<string, number> {
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

/** A run of parameters to update: `models` blocks of `perModel` f32 from f32 offset `start` of the bound ranges (model k's from start + k·perModel). */
export interface UpdateSegment {
  start: number;
  perModel: number;
}

/** What every update launch binds besides w, dw and the slots: the hyperparameters, each model's rate and alive flag. */
interface UpdateBindings {
  hyper: GPUBuffer;
  rates: TensorRef;
  alive: TensorRef;
  models: number;
}

/** One update launch over the segments of w, dw and the rule's state (s1, s2): one table of (segment, model) workgroup runs. */
async function createUpdateDispatch(
  scope: GpuScope,
  rule: OptimizerRule,
  a: UpdateBindings & { w: TensorRef; dw: TensorRef; state: TensorRef[]; segments: UpdateSegment[]; label: string },
): Promise<Dispatch> {
  const vec4 = a.segments.every((s) => s.start % 4 === 0 && s.perModel % 4 === 0);
  const { kernel, unit } = await optimKernel(scope, rule, vec4);
  const table = new Uint32Array(a.segments.length * 4);
  let groups = 0;
  a.segments.forEach((s, i) => {
    const perModel = s.perModel / unit;
    const g = Math.max(1, Math.ceil(perModel / (wg * perInvocation(scope.ctx))));
    table.set([s.start / unit, perModel, g, groups], i * 4);
    groups += g * a.models;
  });
  const resources: Record<string, TensorRef> = { w: a.w, dw: a.dw, hyper: a.hyper, rates: a.rates, alive: a.alive };
  resources.shape = scope.createUniformBuffer(
    kernel,
    'shape',
    { segments: a.segments.length, lossSlots: 0, models: a.models },
    `${a.label} shape`,
  );
  resources.segments = scope.createTensorBuffer(table, `${a.label} segments`);
  a.state.forEach((st, j) => {
    resources[j === 0 ? 's1' : 's2'] = st;
  });
  for (const name of Object.keys(resources)) if (!kernel.bindings[name]) delete resources[name]; // e.g. sgd reads no hyperparameter
  const x = Math.min(groups, maxWorkgroupsPerDim);
  const elements = a.segments.reduce((n, s) => n + s.perModel * a.models, 0);
  return {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, resources),
    workgroups: [x, Math.ceil(groups / x), 1],
    label: `${a.label} count=${elements}${vec4 ? ' (vec4)' : ''}${a.models > 1 ? ` models=${a.models}` : ''}`,
  };
}

/** What a model keeps for its update rule across steps: the config, the hyperparameter uniform, each model's rate and alive flag, one slot store per state. */
export interface UpdateRuleState {
  rule: OptimizerRule;
  /** The config with defaults filled in; Adam's `t` counts the steps begun. */
  config: Record<string, number>;
  hyper: GPUBuffer;
  /** The learning rate of each model (one for a single model), f32. */
  rates: GPUBuffer;
  /** 1 while a model trains, 0 once its loss turned NaN or infinite (a population's `freeze`), u32. */
  alive: GPUBuffer;
  models: number;
  /** Per-parameter state stores (velocity, cache, m, v), laid out as the parameters (none without a layout). */
  slots: Record<string, TensorStore>;
  /** Every value a training graph binds to this state, by value name: 'hyper', 'rates', 'alive', and `slotValueName(slot, param)` per slot tensor. */
  bound: ReadonlyMap<string, TensorRef>;
  /** Once per step, before its submit: Adam's t += 1 and the bias corrections (f64 on the host), new rates if set; one or two queue.writeBuffer. */
  beginStep(): void;
  /** New learning rate(s) from the next `beginStep()` (the Solver's lrDecay): one for all models, or one per model. */
  setLearningRate(lr: number | readonly number[]): void;
}

/**
 * The state of update rule `rule` for parameters laid out as `layout` (of `models` stacked models): hyperparameters
 * in one uniform, the models' rates (all `config.learningRate` at first) and alive flags, each state slot a zero
 * store of the same layout (so one dispatch can update every parameter).
 *   const s = await createUpdateRuleState(scope, 'adam', { learningRate: 1e-3 }, params.layout);
 *   s.beginStep(); // then submit a plan with an optimizer node
 */
export async function createUpdateRuleState(
  scope: GpuScope,
  rule: OptimizerRule,
  config: object,
  layout: StoreLayout | null,
  where = 'createOptimizer',
  models = 1,
): Promise<UpdateRuleState> {
  const c = makeRuleConfig(rule, config, where);
  assertCount(where, 'models', models);
  // adam reads every hyperparameter, so its reflection has the uniform (plain sgd reads none)
  const { kernel } = await optimKernel(scope, 'adam', true);
  // The uniform starts as the first step's, so a step that forgot beginStep() still updates sensibly.
  const hyper = scope.createUniformBuffer(kernel, 'hyper', hyperValues(c, (c.t ?? 0) + 1), `optimizer ${rule} hyper`);
  let lrs = new Float32Array(models).fill(c.learningRate!);
  const rates = scope.createTensorBuffer(lrs, `optimizer ${rule} rates`);
  const alive = scope.createTensorBuffer(new Uint32Array(models).fill(1), `optimizer ${rule} alive`);
  let ratesDirty = false;
  const slots = layout
    ? Object.fromEntries(updateRules[rule].slots.map((s) => [s, createTensorStore(scope, layout, `optimizer ${rule} ${s}`)]))
    : {};
  const bound = new Map<string, TensorRef>([
    [hyperValueName, hyper],
    [ratesValueName, rates],
    [aliveValueName, alive],
  ]);
  for (const [slot, store] of Object.entries(slots))
    for (const name of store.layout.names) bound.set(slotValueName(slot, name), store.ref(name));
  return {
    rule,
    config: c,
    hyper,
    rates,
    alive,
    models,
    slots,
    bound,
    beginStep() {
      if (rule === 'adam') c.t! += 1;
      scope.ctx.device.queue.writeBuffer(hyper, 0, makeUniformData(kernel, 'hyper', hyperValues(c, c.t ?? 1)));
      if (ratesDirty) scope.ctx.device.queue.writeBuffer(rates, 0, lrs);
      ratesDirty = false;
    },
    setLearningRate(lr: number | readonly number[]) {
      const list = typeof lr === 'number' ? new Array<number>(models).fill(lr) : [...lr];
      if (list.length !== models) throw new Error(`optimizer ${rule}: ${list.length} learning rates for ${models} models`);
      list.forEach((v, k) => {
        if (!Number.isFinite(v))
          throw new Error(`optimizer ${rule}: learning rate${models > 1 ? ` of model ${k}` : ''} must be a finite number, got ${v}`);
      });
      lrs = Float32Array.from(list);
      ratesDirty = true;
      if (typeof lr === 'number') c.learningRate = lr;
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
  const state: Record<string, TensorRef[]> = Object.fromEntries(
    slotNames.map((n) => [n, params.map((p) => scope.createTensorBuffer(p.count * 4, `optimizer ${rule} ${p.name} ${n}`))]),
  );
  const dispatches = await Promise.all(
    params.map((p, k) =>
      createUpdateDispatch(scope, rule, {
        w: p.w,
        dw: p.dw,
        state: slotNames.map((n) => state[n]![k]!),
        hyper: s.hyper,
        rates: s.rates,
        alive: s.alive,
        models: 1,
        segments: [{ start: 0, perModel: p.count }],
        label: `optimizer ${rule} ${p.name}`,
      }),
    ),
  );
  return { rule, dispatches, config: s.config, state, beginStep: s.beginStep, setLearningRate: s.setLearningRate };
}

// The graph ops: a multi-tensor update, as fused/foreach Adam (one dispatch per run of tensors laid out alike),
// and a population's divergence check before it.

/**
 * Update parameters in place by rule `rule`. Inputs [hyper, rates, alive, dW_1..dW_k]; updates [W_1..W_k, then
 * each state slot's tensors in parameter order]. Where the parameters, gradients and slots sit in stores of one
 * layout (a GraphModel's), the whole update is ONE dispatch over the stores; otherwise one per parameter. With
 * `models` (a population: each tensor stacks that many models' blocks), model k's blocks use rates[k] and are
 * skipped once alive[k] is 0. The padding between tensors is zero in every store and stays zero under every rule.
 */
export const optimizerOp: OpDef<{ rule: OptimizerRule; models?: number }> = {
  name: 'optimizer',
  outputs(inputs, { rule, models = 1 }) {
    if (!updateRules[rule]) throw new Error(`optimizer: unknown update rule "${rule}"`);
    if (inputs.length < 4) throw new Error('optimizer: needs the hyperparameters, rates, alive flags and at least one gradient');
    for (const dw of inputs.slice(3)) {
      if (sizeOf(dw.shape) % models !== 0)
        throw new Error(`optimizer: ${dw.name} [${dw.shape.join(',')}] does not split into ${models} models`);
    }
    return [];
  },
  async encode(scope, { inputs: [hyper, rates, alive, ...dws], updates }, node) {
    const { rule, models = 1 } = node.attrs;
    const k = dws.length;
    const slots = updateRules[rule].slots.length;
    if (updates.length !== k * (1 + slots))
      throw new Error(`optimizer ${rule}: ${updates.length} updated tensors for ${k} parameters with ${slots} state slot(s)`);
    const ws = updates.slice(0, k);
    const state = (i: number) => Array.from({ length: slots }, (_, j) => updates[k + j * k + i]!);
    const shared = { hyper: refBuffer(hyper!), rates: rates!, alive: alive!, models };
    const all = [ws, dws, ...Array.from({ length: slots }, (_, j) => updates.slice(k + j * k, k + (j + 1) * k))];
    const base = all.map((list) => refOffset(list[0]!));
    const aligned = all.every((list, a) =>
      list.every((r, i) => refBuffer(r) === refBuffer(list[0]!) && refOffset(r) - base[a]! === refOffset(ws[i]!) - base[0]!),
    );
    if (aligned) {
      const end = Math.max(...ws.map((r) => refOffset(r) + refSize(r)));
      const bytes = Math.min(Math.ceil((end - base[0]!) / 16) * 16, ...all.map((list, a) => refBuffer(list[0]!).size - base[a]!));
      const span = (r: TensorRef): TensorRef => ({ buffer: refBuffer(r), offset: refOffset(r), size: bytes });
      // one model: one segment spans every tensor (and the zero padding between them); a population: one per tensor
      const bound = { ...shared, w: span(ws[0]!), dw: span(dws[0]!), state: state(0).map(span) };
      if (models === 1)
        return [
          await createUpdateDispatch(scope, rule, {
            ...bound,
            segments: [{ start: 0, perModel: bytes / 4 }],
            label: `optimizer ${rule} x${k} tensors (multi-tensor)`,
          }),
        ];
      // a population: tensors whose per-model blocks are whole vec4s in one launch, the others (biases of odd width) in an f32 one
      const segments = ws.map((w, i) => ({ start: (refOffset(w) - base[0]!) / 4, perModel: sizeOf(node.updates[i]!.shape) / models }));
      const quads = segments.filter((g) => g.perModel % 4 === 0);
      const rest = segments.filter((g) => g.perModel % 4 !== 0);
      return Promise.all(
        [
          [quads, 'vec4'],
          [rest, 'f32'],
        ]
          .filter(([list]) => list!.length)
          .map(([list, what]) =>
            createUpdateDispatch(scope, rule, {
              ...bound,
              segments: list as UpdateSegment[],
              label: `optimizer ${rule} x${list!.length} tensors (multi-tensor, ${what as string})`,
            }),
          ),
      );
    }
    return Promise.all(
      ws.map((w, i) =>
        createUpdateDispatch(scope, rule, {
          ...shared,
          w,
          dw: dws[i]!,
          state: state(i),
          segments: [{ start: 0, perModel: sizeOf(node.updates[i]!.shape) / models }],
          label: `optimizer ${rule} ${node.updates[i]!.name}`,
        }),
      ),
    );
  },
};

/**
 * A population's divergence check, before its update: a model whose loss slots (model k's: k·lossSlots ..
 * k·lossSlots + lossSlots - 1) hold a NaN or infinity, or sum to one, is frozen (alive[k] = 0) from this step on.
 * Inputs [loss]; updates [alive].
 */
export const freezeOp: OpDef<{ models: number; lossSlots: number }> = {
  name: 'freeze',
  outputs([loss], { models, lossSlots }) {
    if (sizeOf(loss!.shape) !== models * lossSlots)
      throw new Error(`freeze: loss [${loss!.shape.join(',')}] is not ${models} models x ${lossSlots} slots`);
    return [];
  },
  async encode(scope, { inputs: [loss], updates: [alive] }, node) {
    const { models, lossSlots } = node.attrs;
    const { kernel } = await optimKernel(scope, 'freeze', true);
    const shape = scope.createUniformBuffer(kernel, 'shape', { segments: 0, lossSlots, models }, `freeze models=${models} shape`);
    return [
      {
        kernel,
        bindGroup: createBindGroup(scope.ctx, kernel, { loss: loss!, alive: alive!, shape }),
        workgroups: [1, 1, 1],
        label: `freeze models=${models}`,
      },
    ];
  },
};
