// The compiled programs of a model: one plan per program kind, row source and batch, built once, its values bound by kind and name.
import { createScope, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import { compileGraph } from './executor.ts';
import type { Value } from './graph.ts';
import type { DataSplit, ModelDefinition, ProgramGraph, ProgramKind, ProgramRequest } from './model-definition.ts';
import type { StepGroup } from './step-group.ts';
import type { ModelTensors } from './tensors.ts';

/** One compiled program: its dispatches, the buffers the host feeds, its own loss / correct buffers. */
export interface Plan {
  scope: GpuScope;
  program: ProgramGraph;
  dispatches: Dispatch[];
  feeds: Record<string, GPUBuffer>;
  loss?: GPUBuffer;
  correct?: GPUBuffer;
  usesData: boolean;
  usesRule: boolean;
  bufferOf(v: Value): TensorRef;
  /** The dispatches again with some values bound elsewhere (see CompiledGraph.rebind); new objects go into the plan's scope. */
  rebind(overrides: ReadonlyMap<Value, TensorRef>): Promise<Dispatch[]>;
  /** Its multi-step forms by step count (step-group.ts), freed with the plan. */
  groups: Map<number, Promise<StepGroup>>;
}

/** What a plan binds besides the stores: the update rule in force (its name and every value it binds by name). */
export interface BoundRule {
  rule: string;
  bound: ReadonlyMap<string, TensorRef>;
}

/**
 * Bind every value of a program to its buffer, by kind and name: params, their grads and state to the stores,
 * data to the split's buffers (or a new feed buffer), any other name to what the update rule binds.
 *   const values = bindProgram('MyNet', program, scope, tensors, split, rule, feeds, own);
 *   values.get(program.graph.values[0]); // { buffer, offset, size } in the parameter store
 */
export function bindProgram(
  modelName: string,
  program: ProgramGraph,
  scope: GpuScope,
  tensors: Pick<ModelTensors, 'params' | 'grads' | 'state'>,
  split: DataSplit | undefined,
  rule: BoundRule | null,
  feeds: Record<string, GPUBuffer>,
  own: Map<Value, GPUBuffer>,
): Map<Value, TensorRef> {
  const m = new Map<Value, TensorRef>(own);
  for (const [name, v] of Object.entries(program.grads)) m.set(v, tensors.grads.ref(name));
  for (const [name, v] of Object.entries(program.feeds)) {
    feeds[name] = scope.createTensorBuffer(v.shape.reduce((a, b) => a * b, 1) * 4, `feed ${name}`);
    m.set(v, feeds[name]);
  }
  for (const v of program.graph.values) {
    if (m.has(v) || v.kind === 'activation' || v.kind === 'grad') continue;
    const fail = (what: string) => new Error(`${modelName}: value ${v.name} (${v.kind}) ${what}`);
    if (v.kind === 'param') {
      if (!tensors.params.has(v.name)) throw fail('is not a parameter of the model');
      m.set(v, tensors.params.ref(v.name));
    } else if (v.kind === 'data') {
      const buf = split?.buffers[v.name];
      if (!buf) throw fail(`is neither in split ${split?.name ?? '(none)'} nor fed`);
      m.set(v, buf);
    } else if (tensors.state.has(v.name)) {
      m.set(v, tensors.state.ref(v.name));
    } else {
      const ref = rule?.bound.get(v.name);
      if (!ref)
        throw fail(
          rule ? `is not state of the model or of its update rule ${rule.rule}` : 'is not state of the model (no update rule set)',
        );
      m.set(v, ref);
    }
  }
  return m;
}

/** The plan cache of one model on one device. */
export interface Programs {
  /** The cache itself, by `kind:split:batch` (split 'direct' for rows given as matrices): for tests that reach a plan. */
  readonly plans: ReadonlyMap<string, Promise<Plan>>;
  /** The compiled plan of a program (built once per kind, split and batch; a failed build is not cached). */
  plan(kind: ProgramKind, batch: number, split?: DataSplit): Promise<Plan>;
  /** Drop (and free) the plans `which` selects, once their builds have settled. */
  drop(which: (p: Plan) => boolean): Promise<void>;
  /** Forget every plan now and free each once its build settles (the device is being left). */
  abandon(): void;
}

/**
 * The plans of `definition` on `gpu`, bound to `tensors` and to whatever update rule `rule()` answers at build time.
 *   const programs = createPrograms(gpu, definition, 1, tensors, () => session.boundRule());
 *   const plan = await programs.plan('train', 200, data.train); // compiled once, replayed every step
 */
export function createPrograms(
  gpu: GpuContext,
  definition: ModelDefinition,
  models: number,
  tensors: Pick<ModelTensors, 'params' | 'grads' | 'state'>,
  rule: () => BoundRule | null,
): Programs {
  const plans = new Map<string, Promise<Plan>>();
  const build = async (key: string, kind: ProgramKind, batch: number, split?: DataSplit): Promise<Plan> => {
    const r = kind === 'train' ? rule() : null;
    const request: ProgramRequest = { kind, batch, split, rule: r?.rule };
    const program = definition.build(request);
    const scope = createScope(gpu);
    try {
      const own = new Map<Value, GPUBuffer>();
      const loss = program.loss ? scope.createTensorBuffer(program.loss.shape[0]! * 4, 'loss slots') : undefined;
      const correct = program.correct ? scope.createTensorBuffer(models * 4, 'correct count') : undefined;
      if (loss) own.set(program.loss!, loss);
      if (correct) own.set(program.correct!, correct);
      const feeds: Record<string, GPUBuffer> = {};
      const values = bindProgram(definition.name, program, scope, tensors, split, r, feeds, own);
      const compiled = await compileGraph(scope, program.graph, values);
      const usesRule = kind === 'train';
      return {
        scope,
        program,
        dispatches: compiled.dispatches,
        feeds,
        loss,
        correct,
        usesData: !!split,
        usesRule,
        bufferOf: compiled.bufferOf,
        rebind: (overrides) => compiled.rebind(scope, overrides),
        groups: new Map(),
      };
    } catch (e) {
      scope.destroy();
      plans.delete(key); // a later call may try again; nothing half-built stays cached
      throw e;
    }
  };
  return {
    plans,
    plan(kind, batch, split) {
      const key = `${kind}:${split?.name ?? 'direct'}:${batch}`;
      let p = plans.get(key);
      if (!p) {
        p = build(key, kind, batch, split);
        plans.set(key, p);
      }
      return p;
    },
    async drop(which) {
      for (const [key, p] of [...plans]) {
        const r = (await Promise.allSettled([p]))[0]!;
        if (r.status === 'rejected' || which(r.value)) {
          plans.delete(key);
          if (r.status === 'fulfilled') r.value.scope.destroy();
        }
      }
    },
    abandon() {
      for (const p of plans.values())
        p.then(
          (plan) => plan.scope.destroy(),
          () => undefined,
        );
      plans.clear();
    },
  };
}

/**
 * Write the host's values into a plan's feed buffers by name; a name the program does not feed is an error.
 *   writeFeeds(gpu, plan, { indices }); // the rows a train or accuracy plan gathers
 */
export function writeFeeds(gpu: GpuContext, plan: Plan, values: Record<string, Float32Array | Uint32Array>): void {
  for (const [name, data] of Object.entries(values)) {
    const buf = plan.feeds[name];
    if (!buf) throw new Error(`writeFeeds: the program has no feed ${name} (it feeds ${Object.keys(plan.feeds).join(', ') || 'nothing'})`);
    gpu.device.queue.writeBuffer(buf, 0, data as Float32Array<ArrayBuffer>);
  }
}
