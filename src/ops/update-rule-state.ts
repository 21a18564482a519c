// The state a model keeps for its update rule across steps: the config, the hyperparameter uniform, rates, alive flags, slot stores.
import { makeUniformData } from '../gpu/kernel.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { aliveValueName, hyperValueName, ratesValueName, slotValueName } from '../graph/model-definition.ts';
import { createTensorStore, type StoreLayout, type TensorStore } from '../graph/store.ts';
import { assertCount } from './op-checks.ts';
import { makeRuleConfig, updateRules, type OptimizerRule } from './update-rules.ts';
import { hyperValues, optimKernel } from './optim-dispatch.ts';

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
  /**
   * Begin `count` steps submitted together: Adam's t advances `count` times and the hyperparameter uniform's bytes
   * of each step are returned, in order (the caller binds step j to the j-th); new rates, if set, are written (one
   * rate for the whole group, so a rate change lands between groups).
   */
  beginSteps(count: number): Uint8Array<ArrayBuffer>[];
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
  const beginSteps = (count: number): Uint8Array<ArrayBuffer>[] => {
    assertCount(where, 'steps', count);
    const out = Array.from({ length: count }, () => {
      if (rule === 'adam') c.t! += 1;
      return new Uint8Array(makeUniformData(kernel, 'hyper', hyperValues(c, c.t ?? 1)));
    });
    if (ratesDirty) scope.ctx.device.queue.writeBuffer(rates, 0, lrs);
    ratesDirty = false;
    return out;
  };
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
      scope.ctx.device.queue.writeBuffer(hyper, 0, beginSteps(1)[0]!);
    },
    beginSteps,
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
