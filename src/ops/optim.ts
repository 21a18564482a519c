// The update rules on the GPU: the multi-tensor optimizer graph op, the population's freeze op, and createOptimizer
// (the kernel and one launch are in optim-dispatch.ts, the rule state a model keeps in update-rule-state.ts).
import { createDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { refBuffer, refOffset, refSize, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { updateRules, type OptimizerRule } from './update-rules.ts';
import { createUpdateDispatch, optimKernel, type UpdateSegment } from './optim-dispatch.ts';
import { createUpdateRuleState } from './update-rule-state.ts';

export { updateRules, updateRuleNames, isUpdateRule, makeRuleConfig, type OptimizerRule } from './update-rules.ts';
export { createUpdateRuleState, type UpdateRuleState } from './update-rule-state.ts';
export type { UpdateSegment } from './optim-dispatch.ts';

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
export async function createOptimizer(
  scope: GpuScope,
  rule: OptimizerRule,
  config: object,
  params: OptimizerParam[],
  options: { elementsPerLane?: number } = {},
): Promise<Optimizer> {
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
        elementsPerLane: options.elementsPerLane,
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
    const shared = { hyper: hyper!, rates: rates!, alive: alive!, models };
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
    return [createDispatch(scope, kernel, { loss: loss!, alive: alive!, shape }, [1, 1, 1], `freeze models=${models}`)];
  },
};
