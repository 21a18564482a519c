// The training session of a compiled model on one device: the uploaded data, the update rule, the step queue, the readback ring, accuracy in chunks.
import { createScope, readBuffer, type GpuScope } from '../gpu/buffers.ts';
import { assertNotLost, type GpuContext } from '../gpu/device.ts';
import { runDispatches, submitDispatches, type Dispatch } from '../gpu/dispatch.ts';
import { hyperValueName, type DataSplit, type ModelDefinition, type ModelUpdateState } from './model-definition.ts';
import { createPrograms, writeFeeds, type BoundRule, type Plan, type Programs } from './programs.ts';
import { createReadbackRing } from './readback-ring.ts';
import { stepGroupOf, writeStepRanges } from './step-group.ts';
import type { ModelTensors } from './tensors.ts';

/** Rows per accuracy pass (bigger requests run in chunks into one counter). */
const accuracyChunk = 1000;

/** Rows or scores given directly as a matrix (notebook-style calls). */
export interface DirectRows {
  data: ArrayLike<number>;
  shape: number[];
}

/**
 * Everything a model trains with on one device besides its stores: plans, data, update rule, the queue of steps.
 * Work is queued strictly in order (`enqueue`); each step's loss arrives later through the readback ring.
 *   const session = new TrainingSession(gpu, definition, 1, tensors);
 *   await session.attachData(data); await session.setUpdateRule('adam', { learningRate: 1e-3 });
 *   const [loss] = await session.stepModels(indices);
 */
export class TrainingSession {
  readonly programs: Programs;
  /** The splits trained on; `scope` null when another session uploaded them (shareData: that session frees them). */
  private data: { scope: GpuScope | null; train: DataSplit; val: DataSplit } | null = null;
  /** The host data last attached (the caller's own arrays, not a copy): a rebuild uploads it again. */
  attached: unknown = undefined;
  private update: { scope: GpuScope; rule: string; state: ModelUpdateState } | null = null;
  private ring;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly gpu: GpuContext,
    private readonly definition: ModelDefinition,
    private readonly models: number,
    readonly tensors: ModelTensors,
  ) {
    this.programs = createPrograms(gpu, definition, models, tensors, () => this.boundRule());
    this.ring = createReadbackRing(gpu);
  }

  /** The update rule in force, as plans bind it (null before setUpdateRule). */
  boundRule(): BoundRule | null {
    return this.update && { rule: this.update.rule, bound: this.update.state.bound };
  }

  /** The rule's name, config and slot stores as a checkpoint copies them (null before setUpdateRule). */
  ruleSources(): { rule: string; config: Record<string, number>; slots: Record<string, GPUBuffer> } | null {
    const u = this.update;
    return (
      u && { rule: u.rule, config: u.state.config, slots: Object.fromEntries(Object.entries(u.state.slots).map(([n, s]) => [n, s.buffer])) }
    );
  }

  /** Queue `work` behind everything queued so far; resolves to its result (a failure reaches the caller, not the queue). */
  enqueue<T>(work: () => T | Promise<T>): Promise<T> {
    const done = this.tail.then(work);
    this.tail = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /** Resolves once everything queued so far has been submitted. */
  settled(): Promise<void> {
    return this.tail;
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
    await this.releaseData();
    this.data = { scope, ...splits };
    this.attached = data;
  }

  /**
   * Train on the splits `from` uploaded (a session of a model with the same data upload, on the same device): nothing
   * is uploaded again; `from` owns them, so release this session's data first, then `from`'s.
   *   await a.attachData(data); await b.shareData(a); // b's plans gather from a's buffers
   */
  async shareData(from: TrainingSession): Promise<void> {
    if (from.gpu !== this.gpu) throw new Error('shareData: the other model lives on another device');
    if (!from.data) throw new Error('shareData: the other model has no data attached');
    const { train, val } = from.data;
    await this.releaseData();
    this.data = { scope: null, train, val };
  }

  /** Wait for queued steps, then free the uploaded data and the plans that bind it. */
  async releaseData(): Promise<void> {
    await this.tail; // steps already queued were encoded against the old data
    await this.ring.settle();
    await this.programs.drop((p) => p.usesData);
    this.data?.scope?.destroy();
    this.data = null;
    this.attached = undefined;
  }

  /** Set the update rule; its state starts at zero, or at `slots` (a checkpoint's slot stores). */
  async setUpdateRule(rule: string, optimConfig: Record<string, number>, slots?: Record<string, Float32Array>): Promise<void> {
    const scope = createScope(this.gpu);
    let state: ModelUpdateState;
    try {
      state = await this.definition.createUpdateState(scope, rule, optimConfig, this.tensors.params.layout, this.models);
      for (const [slot, values] of Object.entries(slots ?? {})) {
        const store = state.slots[slot];
        if (!store) throw new Error(`setUpdateRule: rule ${rule} has no state slot ${slot} (has ${Object.keys(state.slots).join(', ')})`);
        this.gpu.device.queue.writeBuffer(store.buffer, 0, values as Float32Array<ArrayBuffer>);
      }
    } catch (e) {
      scope.destroy();
      throw e;
    }
    await this.tail; // queued steps use the old rule
    await this.programs.drop((p) => p.usesRule);
    this.update?.scope.destroy();
    this.update = { scope, rule, state };
  }

  /** The learning rate from the next queued step on: one for every model, or one per model. */
  setLearningRate(lr: number | readonly number[]): void {
    const u = this.update;
    if (!u) throw new Error('setLearningRate: call setUpdateRule first');
    const list = typeof lr === 'number' ? [lr] : lr;
    if (typeof lr !== 'number' && lr.length !== this.models)
      throw new Error(`setLearningRate: ${lr.length} learning rates for ${this.models} models`);
    list.forEach((v) => {
      if (!Number.isFinite(v) || v < 0) throw new Error(`setLearningRate: ${v} is not a finite learning rate >= 0`);
    });
    // checked above, so the rule's own check cannot fail here; a step queued after it fails on its own if anything is amiss
    void this.enqueue(() => u.state.setLearningRate(lr)).catch(() => undefined);
  }

  /** Queue one training step of every model on rows `indices`; resolves to each model's loss once the GPU has done it. */
  stepModels(indices: Uint32Array): Promise<Float64Array> {
    // Steps are encoded strictly one after another (each may wait for a free readback slot), losses arrive later.
    return this.enqueue(() => this.submitStep(indices)).then((r) => r.loss);
  }

  private async submitStep(indices: Uint32Array): Promise<{ loss: Promise<Float64Array> }> {
    assertNotLost(this.gpu);
    if (!this.data || !this.update) throw new Error('step: call attachData and setUpdateRule first');
    checkRows(indices, this.data.train.rows, 'step');
    const plan = await this.programs.plan('train', indices.length, this.data.train);
    const loss = plan.loss!;
    const slot = await this.ring.take(loss.size);
    writeFeeds(this.gpu, plan, { indices });
    this.update.state.beginStep();
    await submitDispatches(this.gpu, plan.dispatches, 'train step', (enc) => enc.copyBufferToBuffer(loss, 0, slot.buf, 0, loss.size));
    return { loss: this.ring.readSums(slot, loss.size, this.models) };
  }

  /**
   * Queue `indicesList.length` training steps of every model (step j on rows `indicesList[j]`, all of one batch size)
   * in one command buffer: one write of all their rows and of their hyperparameters, one compute pass, one readback.
   * Resolves to each step's losses (one per model), exactly as that many `stepModels` calls would give them.
   *   const [l0, l1] = await session.stepModelsMany([rows0, rows1]);
   */
  stepModelsMany(indicesList: readonly Uint32Array[]): Promise<Float64Array[]> {
    return this.enqueue(() => this.submitSteps(indicesList)).then((r) => r.losses);
  }

  private async submitSteps(indicesList: readonly Uint32Array[]): Promise<{ losses: Promise<Float64Array[]> }> {
    assertNotLost(this.gpu);
    if (!this.data || !this.update) throw new Error('step: call attachData and setUpdateRule first');
    const steps = indicesList.length;
    if (steps < 1) throw new Error('stepModelsMany: no steps given');
    const batch = indicesList[0]!.length;
    indicesList.forEach((rows, j) => {
      if (rows.length !== batch)
        throw new Error(`stepModelsMany: step ${j} has ${rows.length} rows, step 0 has ${batch} (one batch size a submit)`);
      checkRows(rows, this.data!.train.rows, 'step');
    });
    const plan = await this.programs.plan('train', batch, this.data.train);
    const group = await stepGroupOf(this.gpu, plan, steps, this.update.state.bound.get(hyperValueName));
    const { loss } = group;
    const bytes = (steps - 1) * loss.stride + loss.size;
    const slot = await this.ring.take(bytes);
    const feed = group.feeds.indices;
    if (!feed)
      throw new Error(`stepModelsMany: the train program feeds no indices (it feeds ${Object.keys(group.feeds).join(', ') || 'nothing'})`);
    writeStepRanges(this.gpu, feed, indicesList);
    const hyper = this.update.state.beginSteps(steps);
    if (group.hyper) writeStepRanges(this.gpu, group.hyper, hyper);
    await submitDispatches(this.gpu, group.dispatches, `train ${steps} steps`, (enc) =>
      enc.copyBufferToBuffer(loss.buffer, 0, slot.buf, 0, bytes),
    );
    return { losses: this.ring.readSteps(slot, { steps, stride: loss.stride, size: loss.size }, this.models) };
  }

  /** Dispatches of one training step at batch size `batch` (compiles the plan if needed). */
  async dispatchesPerStep(batch: number): Promise<number> {
    if (!this.data || !this.update) throw new Error('dispatchesPerStep: call attachData and setUpdateRule first');
    return (await this.trainDispatches(batch)).length;
  }

  /** The dispatch records of one training step at batch size `batch` (compiles the plan if needed). */
  async trainDispatches(batch: number): Promise<readonly Dispatch[]> {
    if (!this.data || !this.update) throw new Error('trainDispatches: call attachData and setUpdateRule first');
    return (await this.programs.plan('train', batch, this.data.train)).dispatches;
  }

  /** Each model's fraction of rows `indices` of a split whose argmax score equals the label, in chunks of 1000 rows. */
  async accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array> {
    if (!this.data) throw new Error('accuracy: call attachData first');
    const s = split === 'train' ? this.data.train : this.data.val;
    checkRows(indices, s.rows, `accuracy(${split})`);
    await this.tail;
    const correct = new Float64Array(this.models);
    for (let start = 0; start < indices.length; start += accuracyChunk) {
      const part = indices.subarray(start, Math.min(indices.length, start + accuracyChunk));
      const plan = await this.programs.plan('accuracy', part.length, s);
      const { device } = this.gpu;
      writeFeeds(this.gpu, plan, { indices: part });
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

  /** Run a direct program (rows given as matrices) once, after the queued steps, and wait for it. */
  async runDirect(kind: 'grads' | 'scores', X: DirectRows, y?: ArrayLike<number>): Promise<Plan> {
    assertNotLost(this.gpu);
    const { batch, feeds } = this.definition.directFeeds(X, y);
    await this.tail;
    const plan = await this.programs.plan(kind, batch);
    writeFeeds(this.gpu, plan, feeds);
    await runDispatches(this.gpu, plan.dispatches, kind);
    return plan;
  }

  /** Leave the device without waiting (a rebuild elsewhere): every plan, the data, the rule and the ring are freed. */
  abandon(): void {
    this.programs.abandon();
    this.data?.scope?.destroy();
    this.update?.scope.destroy();
    this.ring.destroy();
  }

  /** Wait for the queued work, then free everything the session made. */
  async destroy(): Promise<void> {
    await this.tail;
    await this.ring.settle();
    await this.programs.drop(() => true);
    this.abandon();
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
