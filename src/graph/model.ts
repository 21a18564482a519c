// GraphModel: the generic compiled model. It owns the stores, the plans per program and batch, the step queue and readback ring, snapshots, host checkpoints, params by name.
import { assertNotLost, type GpuContext } from '../gpu/device.ts';
import { createScope, readBuffer, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { submitDispatches, runDispatches, type Dispatch } from '../gpu/dispatch.ts';
import { assertCheckpointFits, checkpointTensors, submitCheckpoint, unflattenStore, type ModelCheckpoint } from './checkpoint.ts';
import { compileGraph } from './executor.ts';
import type { Value } from './graph.ts';
import { createReadbackRing } from './readback-ring.ts';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.ts';
import { createTensorStore, makeStoreLayout, modelRanges, type TensorStore } from './store.ts';
import {
  aliveValueName,
  hyperValueName,
  ratesValueName,
  type DataSplit,
  type ModelDefinition,
  type ModelUpdateState,
  type ProgramGraph,
  type ProgramKind,
  type ProgramRequest,
} from './model-definition.ts';

/** One compiled program: its dispatches, the buffers the host feeds, its own loss / correct buffers. */
interface Plan {
  scope: GpuScope;
  program: ProgramGraph;
  dispatches: Dispatch[];
  feeds: Record<string, GPUBuffer>;
  loss?: GPUBuffer;
  correct?: GPUBuffer;
  usesData: boolean;
  usesRule: boolean;
  bufferOf(v: Value): TensorRef;
}

/** Rows per accuracy pass (bigger requests run in chunks into one counter). */
const accuracyChunk = 1000;

/**
 * A model described by a definition (its tensors and the graph of each program), compiled on `gpu` per program
 * and batch size and trained by the Solver. A training step is one compiled plan (forward, backward and the
 * update), one command buffer and one submit; losses come back through a ring of staging buffers.
 *   const model = new GraphModel(gpu, makeClassifier({ ... }));
 *   await new Solver(model, data, { updateRule: 'adam' }).train();
 */
export class GraphModel {
  /** The device the model lives on (a new one after `rebuildOn`). */
  gpu: GpuContext;
  readonly definition: ModelDefinition;
  /** Models stacked along the model axis (1 for one model; a population's size). */
  readonly models: number;
  /** Parameters, their gradients (same layout) and the state (running statistics), each one flat buffer. */
  params: TensorStore;
  grads: TensorStore;
  state: TensorStore;
  private scope: GpuScope;
  private readonly plans = new Map<string, Promise<Plan>>();
  private ring;
  private data: { scope: GpuScope; train: DataSplit; val: DataSplit } | null = null;
  /** The host data last attached (the caller's own arrays, not a copy): `rebuildOn` uploads it again. */
  private attached: unknown = undefined;
  /** The newest host checkpoint read back (see `checkpoint()`), which answers `getParams` once the device is lost. */
  private lastCheckpoint: ModelCheckpoint | null = null;
  private update: { scope: GpuScope; rule: string; state: ModelUpdateState } | null = null;
  private stepTail: Promise<void> = Promise.resolve();
  private destroyed = false;

  constructor(gpu: GpuContext, definition: ModelDefinition) {
    this.gpu = gpu;
    this.definition = definition;
    this.models = definition.models ?? 1;
    if (!Number.isInteger(this.models) || this.models < 1)
      throw new Error(`${definition.name}: models must be an integer >= 1, got ${definition.models}`);
    this.scope = createScope(gpu);
    const init = (list: ModelDefinition['params']) => Object.fromEntries(list.map((t) => [t.name, t.data]));
    const paramLayout = makeStoreLayout(definition.params);
    this.params = createTensorStore(this.scope, paramLayout, `${definition.name} params`, init(definition.params));
    this.grads = createTensorStore(this.scope, paramLayout, `${definition.name} grads`);
    this.state = createTensorStore(this.scope, makeStoreLayout(definition.state), `${definition.name} state`, init(definition.state));
    this.ring = createReadbackRing(gpu);
  }

  /** Bind every value of a program to its buffer, by kind and name (see ProgramGraph). */
  private bind(
    program: ProgramGraph,
    scope: GpuScope,
    split: DataSplit | undefined,
    feeds: Record<string, GPUBuffer>,
    own: Map<Value, GPUBuffer>,
  ): Map<Value, TensorRef> {
    const m = new Map<Value, TensorRef>(own);
    for (const [name, v] of Object.entries(program.grads)) m.set(v, this.grads.ref(name));
    for (const [name, v] of Object.entries(program.feeds)) {
      feeds[name] = scope.createTensorBuffer(v.shape.reduce((a, b) => a * b, 1) * 4, `feed ${name}`);
      m.set(v, feeds[name]);
    }
    for (const v of program.graph.values) {
      if (m.has(v) || v.kind === 'activation' || v.kind === 'grad') continue;
      const fail = (what: string) => new Error(`${this.definition.name}: value ${v.name} (${v.kind}) ${what}`);
      if (v.kind === 'param') {
        if (!this.params.has(v.name)) throw fail('is not a parameter of the model');
        m.set(v, this.params.ref(v.name));
      } else if (v.kind === 'data') {
        const buf = split?.buffers[v.name];
        if (!buf) throw fail(`is neither in split ${split?.name ?? '(none)'} nor fed`);
        m.set(v, buf);
      } else if (this.state.has(v.name)) {
        m.set(v, this.state.ref(v.name));
      } else {
        const u = this.update?.state;
        const slot = /^([^/]+)\/(.+)$/.exec(v.name);
        if (u && v.name === hyperValueName) m.set(v, u.hyper);
        else if (u && v.name === ratesValueName) m.set(v, u.rates);
        else if (u && v.name === aliveValueName) m.set(v, u.alive);
        else if (u && slot && u.slots[slot[1]!]) m.set(v, u.slots[slot[1]!]!.ref(slot[2]!));
        else throw fail('is not state of the model or of its update rule');
      }
    }
    return m;
  }

  /** The compiled plan of a program (built once per kind, split and batch; a failed build is not cached). */
  private plan(kind: ProgramKind, batch: number, split?: DataSplit): Promise<Plan> {
    const key = `${kind}:${split?.name ?? 'direct'}:${batch}`;
    let p = this.plans.get(key);
    if (!p) {
      p = (async () => {
        const request: ProgramRequest = { kind, batch, split, rule: kind === 'train' ? this.update?.rule : undefined };
        const program = this.definition.build(request);
        const scope = createScope(this.gpu);
        try {
          const own = new Map<Value, GPUBuffer>();
          const loss = program.loss ? scope.createTensorBuffer(program.loss.shape[0]! * 4, 'loss slots') : undefined;
          const correct = program.correct ? scope.createTensorBuffer(this.models * 4, 'correct count') : undefined;
          if (loss) own.set(program.loss!, loss);
          if (correct) own.set(program.correct!, correct);
          const feeds: Record<string, GPUBuffer> = {};
          const compiled = await compileGraph(scope, program.graph, this.bind(program, scope, split, feeds, own));
          return {
            scope,
            program,
            dispatches: compiled.dispatches,
            feeds,
            loss,
            correct,
            usesData: !!split,
            usesRule: kind === 'train',
            bufferOf: compiled.bufferOf,
          };
        } catch (e) {
          scope.destroy();
          this.plans.delete(key); // a later call may try again; nothing half-built stays cached
          throw e;
        }
      })();
      this.plans.set(key, p);
    }
    return p;
  }

  /** Drop (and free) the plans `which` selects, once the steps queued before are encoded. */
  private async dropPlans(which: (p: Plan) => boolean): Promise<void> {
    for (const [key, p] of [...this.plans]) {
      const r = (await Promise.allSettled([p]))[0]!;
      if (r.status === 'rejected' || which(r.value)) {
        this.plans.delete(key);
        if (r.status === 'fulfilled') r.value.scope.destroy();
      }
    }
  }

  /** Upload (and check) the Solver's data; plans gathering from the old data are dropped. */
  async attachData(data: unknown): Promise<void> {
    const scope = createScope(this.gpu); // the old data stays usable if the new data is refused
    let splits: { train: DataSplit; val: DataSplit };
    try {
      splits = this.definition.uploadData(scope, data);
    } catch (e) {
      scope.destroy();
      throw e;
    }
    await this.dropData();
    this.data = { scope, ...splits };
    this.attached = data;
  }

  /** Wait for queued steps, then free the uploaded data and the plans that bind it. */
  private async dropData(): Promise<void> {
    await this.stepTail; // steps already queued were encoded against the old data
    await this.ring.settle();
    await this.dropPlans((p) => p.usesData);
    this.data?.scope.destroy();
    this.data = null;
    this.attached = undefined;
  }

  /**
   * Free the uploaded training data (150 MB for CIFAR-10) once training is over; the parameters stay, so
   * scores, safetensors and getParams still work, and attachData uploads again.
   *   await new Solver(net, data, opts).train(); await net.releaseData();
   *   await net.saveSafetensors();
   */
  async releaseData(): Promise<void> {
    await this.dropData();
  }

  /** Set the update rule (cs231n names and config); its state (velocity, cache, m, v) starts at zero. */
  async setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void> {
    const scope = createScope(this.gpu);
    let state: ModelUpdateState;
    try {
      state = await this.definition.createUpdateState(scope, rule, optimConfig, this.params.layout, this.models);
    } catch (e) {
      scope.destroy();
      throw e;
    }
    await this.stepTail; // queued steps use the old rule
    await this.dropPlans((p) => p.usesRule);
    this.update?.scope.destroy();
    this.update = { scope, rule, state };
  }

  /** The learning rate from the next queued step on (steps already queued keep theirs): one for every model, or one per model. */
  setLearningRate(lr: number | readonly number[]): void {
    const u = this.update;
    if (!u) throw new Error('setLearningRate: call setUpdateRule first');
    const list = typeof lr === 'number' ? [lr] : lr;
    if (typeof lr !== 'number' && lr.length !== this.models)
      throw new Error(`setLearningRate: ${lr.length} learning rates for ${this.models} models`);
    list.forEach((v) => {
      if (!Number.isFinite(v) || v < 0) throw new Error(`setLearningRate: ${v} is not a finite learning rate >= 0`);
    });
    this.stepTail = this.stepTail.then(() => u.state.setLearningRate(lr));
  }

  /** Queue one training step on rows `indices`; resolves to its loss when the GPU has finished it (one model; see stepModels). */
  step(indices: Uint32Array): Promise<number> {
    if (this.models !== 1)
      throw new Error(`step: ${this.definition.name} is a population of ${this.models} models; stepModels gives each one's loss`);
    return this.stepModels(indices).then((l) => l[0]!);
  }

  /**
   * Queue one training step of every model on rows `indices` (the same minibatch for all); resolves to each
   * model's loss when the GPU has finished it.
   *   const losses = await population.stepModels(indices); // Float64Array, one per model
   */
  stepModels(indices: Uint32Array): Promise<Float64Array> {
    // Steps are encoded strictly one after another (each may wait for a free readback slot), losses arrive later.
    const submitted = this.stepTail.then(() => this.submitStep(indices));
    this.stepTail = submitted.then(
      () => undefined,
      () => undefined,
    );
    return submitted.then((r) => r.loss);
  }

  private async submitStep(indices: Uint32Array): Promise<{ loss: Promise<Float64Array> }> {
    assertNotLost(this.gpu);
    if (!this.data || !this.update) throw new Error('step: call attachData and setUpdateRule first');
    checkRows(indices, this.data.train.rows, 'step');
    const plan = await this.plan('train', indices.length, this.data.train);
    const loss = plan.loss!;
    const slot = await this.ring.take(loss.size);
    this.gpu.device.queue.writeBuffer(plan.feeds.indices!, 0, indices as Uint32Array<ArrayBuffer>);
    this.update.state.beginStep();
    await submitDispatches(this.gpu, plan.dispatches, 'train step', (enc) => enc.copyBufferToBuffer(loss, 0, slot.buf, 0, loss.size));
    return { loss: this.ring.readSums(slot, loss.size, this.models) };
  }

  /** Dispatches of one training step at batch size `batch` (compiles the plan if needed), for benchmarks. */
  async dispatchesPerStep(batch: number): Promise<number> {
    if (!this.data || !this.update) throw new Error('dispatchesPerStep: call attachData and setUpdateRule first');
    return (await this.plan('train', batch, this.data.train)).dispatches.length;
  }

  /** Fraction of rows `indices` of a split whose argmax score equals the label (normalization in test mode); one model (see accuracyModels). */
  async accuracy(split: 'train' | 'val', indices: Uint32Array): Promise<number> {
    if (this.models !== 1)
      throw new Error(`accuracy: ${this.definition.name} is a population of ${this.models} models; accuracyModels gives each one's`);
    return (await this.accuracyModels(split, indices))[0]!;
  }

  /**
   * Each model's fraction of rows `indices` of a split whose argmax score equals the label (normalization in test mode).
   *   const acc = await population.accuracyModels('val', Uint32Array.from({ length: 1000 }, (_, i) => i));
   */
  async accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array> {
    if (!this.data) throw new Error('accuracy: call attachData first');
    const s = split === 'train' ? this.data.train : this.data.val;
    checkRows(indices, s.rows, `accuracy(${split})`);
    await this.stepTail;
    const correct = new Float64Array(this.models);
    for (let start = 0; start < indices.length; start += accuracyChunk) {
      const part = indices.subarray(start, Math.min(indices.length, start + accuracyChunk));
      const plan = await this.plan('accuracy', part.length, s);
      const { device } = this.gpu;
      device.queue.writeBuffer(plan.feeds.indices!, 0, part as Uint32Array<ArrayBuffer>);
      const clear = device.createCommandEncoder({ label: 'clear correct count' });
      clear.clearBuffer(plan.correct!);
      device.queue.submit([clear.finish()]);
      await submitDispatches(this.gpu, plan.dispatches, 'accuracy');
      new Uint32Array(await readBuffer(this.gpu, plan.correct!, this.models * 4)).forEach((c, k) => {
        correct[k]! += c;
      });
    }
    return correct.map((c) => c / indices.length);
  }

  /** Run a direct program (rows given as matrices) once and wait for it. */
  private async runDirect(kind: 'grads' | 'scores', X: { data: ArrayLike<number>; shape: number[] }, y?: ArrayLike<number>): Promise<Plan> {
    assertNotLost(this.gpu);
    if (this.models !== 1)
      throw new Error(
        `loss: ${this.definition.name} is a population of ${this.models} models; train it with PopulationSolver, or take one model's parameters into a single net`,
      );
    const { batch, feeds } = this.definition.directFeeds(X, y);
    await this.stepTail;
    const plan = await this.plan(kind, batch);
    for (const [name, data] of Object.entries(feeds))
      this.gpu.device.queue.writeBuffer(plan.feeds[name]!, 0, data as Float32Array<ArrayBuffer>);
    await runDispatches(this.gpu, plan.dispatches, kind);
    return plan;
  }

  /**
   * Notebook-style: with labels, a train-mode pass returning the loss and every gradient (no update); without,
   * test-mode class scores.
   *   const { loss, grads } = await model.loss(X, y);
   *   const scores = await model.loss(X);
   */
  async loss(X: { data: ArrayLike<number>; shape: number[] }): Promise<Float32Array>;
  async loss(
    X: { data: ArrayLike<number>; shape: number[] },
    y: ArrayLike<number>,
  ): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  async loss(
    X: { data: ArrayLike<number>; shape: number[] },
    y?: ArrayLike<number>,
  ): Promise<Float32Array | { loss: number; grads: Record<string, Float32Array> }> {
    if (y === undefined) {
      const plan = await this.runDirect('scores', X);
      const scores = plan.program.scores!;
      return new Float32Array(await readBuffer(this.gpu, plan.bufferOf(scores), scores.shape.reduce((a, b) => a * b, 1) * 4));
    }
    const plan = await this.runDirect('grads', X, y);
    const loss = new Float32Array(await readBuffer(this.gpu, plan.loss!)).reduce((a, b) => a + b, 0);
    const grads: Record<string, Float32Array> = {};
    for (const name of this.params.layout.names) grads[name] = new Float32Array(await readBuffer(this.gpu, this.grads.ref(name)));
    return { loss, grads };
  }

  /** Every parameter and state tensor by name (one naming convention: the safetensors names). */
  async getParams(): Promise<Record<string, NamedTensor>> {
    if (this.gpu.lostInfo) return this.checkpointParams();
    await this.stepTail;
    const out: Record<string, NamedTensor> = {};
    for (const store of [this.params, this.state]) {
      const all = new Float32Array(await readBuffer(this.gpu, store.buffer));
      for (const name of store.layout.names) {
        const e = store.layout.entries[name]!;
        out[name] = { data: all.slice(e.offset / 4, e.offset / 4 + e.count), shape: [...e.shape] };
      }
    }
    return out;
  }

  // [h5, issue 24 item 3] setParams checks every entry before writing any; loadSafetensors refuses a partial file unless asked.
  /** Overwrite parameters or state by name; the sizes must match (and the shapes, when given). Every entry is checked before any is written. */
  setParams(values: Record<string, { data: ArrayLike<number>; shape?: number[] }>): void {
    const writes: [TensorStore, number, Float32Array<ArrayBuffer>][] = [];
    for (const [name, v] of Object.entries(values)) {
      const store = this.params.has(name) ? this.params : this.state.has(name) ? this.state : null;
      if (!store)
        throw new Error(
          `setParams: no tensor named ${name} (have ${[...this.params.layout.names, ...this.state.layout.names].join(', ')})`,
        );
      const e = store.layout.entries[name]!;
      if (v.data.length !== e.count) throw new Error(`setParams: ${name} has ${v.data.length} values, expected ${e.count}`);
      if (v.shape && (v.shape.length !== e.shape.length || v.shape.some((d, i) => d !== e.shape[i])))
        throw new Error(`setParams: ${name} has shape [${v.shape.join(',')}], this model has [${e.shape.join(',')}]`);
      writes.push([store, e.offset, Float32Array.from(v.data)]);
    }
    for (const [store, offset, data] of writes) this.gpu.device.queue.writeBuffer(store.buffer, offset, data);
  }

  /** The parameters and state as a safetensors file (F32), with the definition's metadata. */
  async saveSafetensors(): Promise<Uint8Array> {
    const tensors = await this.getParams();
    const from = this.paramsSource();
    return encodeSafetensors(
      tensors,
      from.source === 'checkpoint'
        ? { ...this.definition.metadata, checkpointIteration: String(from.iteration) }
        : this.definition.metadata,
    );
  }

  /**
   * Load a safetensors file with this model's tensor names and shapes (a CPU reference export loads too), all or nothing:
   * a malformed file, an unknown name, a wrong shape, or (unless `partial`) a missing tensor is an error and writes nothing.
   */
  loadSafetensors(bytes: Uint8Array, options: { partial?: boolean } = {}): void {
    const tensors = decodeSafetensors(bytes);
    if (!options.partial) {
      const missing = [...this.params.layout.names, ...this.state.layout.names].filter((name) => !Object.hasOwn(tensors, name));
      if (missing.length)
        throw new Error(`loadSafetensors: the file lacks ${missing.join(', ')} (pass { partial: true } to keep their current values)`);
    }
    this.setParams(tensors);
  }

  /** A real copy of the parameters and state (on the host), independent of later steps. */
  async snapshot(): Promise<{ params: Float32Array; state: Float32Array }> {
    await this.stepTail;
    return {
      params: new Float32Array(await readBuffer(this.gpu, this.params.buffer)),
      state: new Float32Array(await readBuffer(this.gpu, this.state.buffer)),
    };
  }

  /** Where model k's values sit in a snapshot (f32 ranges of its params and of its state), so a population keeps each model's best. */
  snapshotRanges(k: number): { params: [number, number][]; state: [number, number][] } {
    return { params: modelRanges(this.params.layout, this.models, k), state: modelRanges(this.state.layout, this.models, k) };
  }

  /** Put a snapshot back. */
  async restore(snapshot: unknown): Promise<void> {
    const s = snapshot as { params: Float32Array; state: Float32Array };
    if (
      !(s?.params instanceof Float32Array) ||
      s.params.byteLength !== this.params.buffer.size ||
      s.state.byteLength !== this.state.buffer.size
    ) {
      throw new Error(`${this.definition.name}.restore: not a snapshot of this model`);
    }
    await this.stepTail;
    this.gpu.device.queue.writeBuffer(this.params.buffer, 0, s.params as Float32Array<ArrayBuffer>);
    this.gpu.device.queue.writeBuffer(this.state.buffer, 0, s.state as Float32Array<ArrayBuffer>);
    await this.gpu.device.queue.onSubmittedWorkDone();
  }

  /**
   * Queue a host checkpoint behind the steps queued so far: the stores (params, state, the rule's slots) are copied
   * in one submit and read by mapAsync, so later steps queue meanwhile; the rule's config (Adam's `t`, the
   * learning rate) is taken as the next step will use it. The newest one read answers `getParams` after a loss.
   *   const ckpt = await model.checkpoint(solver.lossHistory.length);
   *   await other.rebuildOn(newGpu, ckpt);
   */
  checkpoint(iteration: number): Promise<ModelCheckpoint> {
    const submitted = this.stepTail.then(() => {
      assertNotLost(this.gpu);
      const u = this.update;
      const slots = u && Object.fromEntries(Object.entries(u.state.slots).map(([n, store]) => [n, store.buffer]));
      const read = submitCheckpoint(this.gpu, iteration, {
        params: this.params.buffer,
        state: this.state.buffer,
        update: u && { rule: u.rule, config: u.state.config, slots: slots! },
      });
      return {
        done: read.then((c) => {
          if (!this.lastCheckpoint || this.lastCheckpoint.iteration <= iteration) this.lastCheckpoint = c;
          return c;
        }),
      };
    });
    this.stepTail = submitted.then(
      () => undefined,
      () => undefined,
    );
    return submitted.then((r) => r.done);
  }

  /** Where `getParams` and `saveSafetensors` answer from: the device, or (once it is lost) the host checkpoint of an iteration. */
  paramsSource(): { source: 'device' } | { source: 'checkpoint'; iteration: number } {
    return this.gpu.lostInfo && this.lastCheckpoint
      ? { source: 'checkpoint', iteration: this.lastCheckpoint.iteration }
      : { source: 'device' };
  }

  /** The newest host checkpoint read back, or null. */
  get checkpointed(): ModelCheckpoint | null {
    return this.lastCheckpoint;
  }

  private checkpointParams(): Record<string, NamedTensor> {
    const c = this.lastCheckpoint;
    if (!c)
      throw new Error(
        `${this.definition.name}: the GPU device was lost (${this.gpu.lostInfo?.reason}: ${this.gpu.lostInfo?.message}) before any host checkpoint was taken`,
      );
    return checkpointTensors(c, this.params.layout, this.state.layout);
  }

  /**
   * Move the model to `gpu` (a new device after a loss) at `checkpoint`: new stores with its values, the update
   * rule with its slots and config, the attached data uploaded again, every plan compiled anew on first use.
   * Nothing of the old device is used afterwards.
   *   await model.rebuildOn(await requestGpu(), model.checkpointed!);
   *   await model.step(indices); // on the new device
   */
  async rebuildOn(gpu: GpuContext, checkpoint: ModelCheckpoint): Promise<void> {
    assertCheckpointFits(checkpoint, this.params.layout, this.state.layout, `${this.definition.name}.rebuildOn`);
    await this.stepTail; // steps queued on the old device end first (they fail fast once it is lost)
    const old = { plans: [...this.plans.values()], scopes: [this.scope, this.data?.scope, this.update?.scope], ring: this.ring };
    this.plans.clear();
    const name = this.definition.name;
    const made: GpuScope[] = [];
    const newScope = () => {
      const sc = createScope(gpu);
      made.push(sc);
      return sc;
    };
    try {
      const scope = newScope();
      const params = createTensorStore(scope, this.params.layout, `${name} params`, unflattenStore(this.params.layout, checkpoint.params));
      const grads = createTensorStore(scope, this.params.layout, `${name} grads`);
      const state = createTensorStore(scope, this.state.layout, `${name} state`, unflattenStore(this.state.layout, checkpoint.state));
      let data: GraphModel['data'] = null;
      if (this.attached !== undefined) {
        const ds = newScope();
        data = { scope: ds, ...this.definition.uploadData(ds, this.attached) };
      }
      let update: GraphModel['update'] = null;
      if (checkpoint.update) {
        const us = newScope();
        const u = await this.definition.createUpdateState(
          us,
          checkpoint.update.rule,
          checkpoint.update.config,
          this.params.layout,
          this.models,
        );
        for (const [slot, values] of Object.entries(checkpoint.update.slots))
          gpu.device.queue.writeBuffer(u.slots[slot]!.buffer, 0, values as Float32Array<ArrayBuffer>);
        update = { scope: us, rule: checkpoint.update.rule, state: u };
      }
      this.gpu = gpu;
      this.scope = scope;
      this.params = params;
      this.grads = grads;
      this.state = state;
      this.data = data;
      this.update = update;
      this.ring = createReadbackRing(gpu);
      this.stepTail = Promise.resolve();
      this.lastCheckpoint = checkpoint;
    } catch (e) {
      for (const sc of made) sc.destroy();
      throw e;
    }
    for (const p of old.plans)
      p.then(
        (plan) => plan.scope.destroy(),
        () => undefined,
      );
    for (const s of old.scopes) s?.destroy();
    old.ring.destroy();
  }

  /** Free every GPU buffer of the model and its compiled plans. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.stepTail;
    await this.ring.settle();
    await this.dropPlans(() => true);
    this.data?.scope.destroy();
    this.update?.scope.destroy();
    this.ring.destroy();
    this.scope.destroy();
  }
}

/**
 * Throw unless every row index is below `rows`, naming the caller.
 *   checkRows(Uint32Array.of(3, 9), 5, 'step'); // Error: step: row index 9 out of range (5 rows)
 *   checkRows(Uint32Array.of(0, 4), 5, 'step'); // fine
 */
export function checkRows(indices: Uint32Array, rows: number, what: string): void {
  for (const i of indices) if (i >= rows) throw new Error(`${what}: row index ${i} out of range (${rows} rows)`);
}
