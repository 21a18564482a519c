// The update rules on the GPU: the multi-tensor optimizer graph op (L2's gradient term folded in) and createOptimizer
// (the kernel and one launch are in optim-dispatch.ts, the rule state a model keeps in update-rule-state.ts).
import type { Dispatch } from '../gpu/dispatch.ts';
import { refBuffer, refOffset, refSize, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { updateRules, type OptimizerRule } from './update-rules.ts';
import { createUpdateDispatch, type UpdateSegment } from './optim-dispatch.ts';
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
  /** L2 strength (default 0): the rule steps on dw + reg·w. */
  reg?: number;
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
        segments: [{ start: 0, perModel: p.count, reg: p.reg }],
        label: `optimizer ${rule} ${p.name}`,
        elementsPerLane: options.elementsPerLane,
      }),
    ),
  );
  return { rule, dispatches, config: s.config, state, beginStep: s.beginStep, setLearningRate: s.setLearningRate };
}

// The graph op: a multi-tensor update, as fused/foreach Adam (one dispatch per run of tensors laid out alike).
// A population's divergence check before it is the softmax loss's `freeze` (src/ops/softmax.ts).

/** The optimizer node's settings: the rule, the models stacked in each tensor, and each parameter's L2 strength (one per model, or one for all; default 0). */
export interface OptimizerAttrs {
  rule: OptimizerRule;
  models?: number;
  regs?: (number | readonly number[])[];
}

/**
 * Update parameters in place by rule `rule`. Inputs [hyper, rates, alive, dW_1..dW_k]; updates [W_1..W_k, then
 * each state slot's tensors in parameter order]. Where the parameters, gradients and slots sit in stores of one
 * layout (a GraphModel's), the whole update is ONE dispatch over the stores; otherwise one per parameter. With
 * `models` (a population: each tensor stacks that many models' blocks), model k's blocks use rates[k] and are
 * skipped once alive[k] is 0. The padding between tensors is zero in every store and stays zero under every rule.
 * `regs[i]` folds L2 into parameter i's update (dW_i + reg·W_i; the loss term is `l2LossesOp`'s).
 */
export const optimizerOp: OpDef<OptimizerAttrs> = {
  name: 'optimizer',
  outputs(inputs, { rule, models = 1, regs }) {
    if (!updateRules[rule]) throw new Error(`optimizer: unknown update rule "${rule}"`);
    if (inputs.length < 4) throw new Error('optimizer: needs the hyperparameters, rates, alive flags and at least one gradient');
    if (regs && regs.length !== inputs.length - 3)
      throw new Error(`optimizer: ${regs.length} L2 strengths for ${inputs.length - 3} parameters`);
    for (const dw of inputs.slice(3)) {
      if (sizeOf(dw.shape) % models !== 0)
        throw new Error(`optimizer: ${dw.name} [${dw.shape.join(',')}] does not split into ${models} models`);
    }
    return [];
  },
  async encode(scope, { inputs: [hyper, rates, alive, ...dws], updates }, node) {
    const { rule, models = 1 } = node.attrs;
    const regs = node.attrs.regs ?? [];
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
      // one model: one segment spans every tensor (and the zero padding between them), or one per run of tensors of
      // one L2 strength (each to where the next starts: the padding updates as zeros); a population: one per tensor
      const bound = { ...shared, w: span(ws[0]!), dw: span(dws[0]!), state: state(0).map(span) };
      if (models === 1)
        return [
          await createUpdateDispatch(scope, rule, {
            ...bound,
            segments: makeRegRuns(
              ws.map((w, i) => ({ start: (refOffset(w) - base[0]!) / 4, reg: regs[i] ?? 0 })),
              bytes / 4,
            ),
            label: `optimizer ${rule} x${k} tensors (multi-tensor)`,
          }),
        ];
      // a population: tensors whose per-model blocks are whole vec4s in one launch, the others (biases of odd width) in an f32 one
      const segments = ws.map((w, i) => ({
        start: (refOffset(w) - base[0]!) / 4,
        perModel: sizeOf(node.updates[i]!.shape) / models,
        reg: regs[i],
      }));
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
          segments: [{ start: 0, perModel: sizeOf(node.updates[i]!.shape) / models, reg: regs[i] }],
          label: `optimizer ${rule} ${node.updates[i]!.name}`,
        }),
      ),
    );
  },
};

/**
 * One model's update segments over a store span of `length` f32: one per run of tensors (by their starts) with one L2
 * strength, each reaching to the next run's start (one segment for the whole span without L2).
 *   makeRegRuns([{ start: 0, reg: 0.1 }, { start: 64, reg: 0 }, { start: 128, reg: 0 }], 192);
 *   // [{ start: 0, perModel: 64, reg: 0.1 }, { start: 64, perModel: 128, reg: 0 }]
 */
export function makeRegRuns(tensors: { start: number; reg: number | readonly number[] }[], length: number): UpdateSegment[] {
  const sorted = [...tensors].sort((a, b) => a.start - b.start);
  const runs: { start: number; reg: number }[] = [];
  for (const t of sorted) {
    const reg = typeof t.reg === 'number' ? t.reg : t.reg[0]!;
    if (runs.at(-1)?.reg !== reg) runs.push({ start: runs.length ? t.start : 0, reg });
  }
  return runs.map((r, i) => ({ start: r.start, perModel: (runs[i + 1]?.start ?? length) - r.start, reg: r.reg }));
}
