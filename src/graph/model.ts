// GraphModel: the generic compiled model, composed of its parts: the tensors (tensors.ts), the training session with its plans (session.ts, programs.ts), the recovery points (recovery-point.ts).
import { readBuffer, createScope } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import type { ModelCheckpoint } from './checkpoint.ts';
import type { ModelDefinition } from './model-definition.ts';
import { createPartsAt, RecoveryPoints, type DeviceParts, type ParamsSource } from './recovery-point.ts';
import { encodeSafetensors, type NamedTensor } from './safetensors.ts';
import { TrainingSession, type DirectRows } from './session.ts';
import type { TensorStore } from './store.ts';
import { createModelTensors, type TensorValues } from './tensors.ts';

export { checkRows } from './session.ts';

/**
 * A model described by a definition (its tensors and the graph of each program), compiled on `gpu` per program
 * and batch size and trained by the Solver. A training step is one compiled plan (forward, backward and the
 * update), one command buffer and one submit (or several steps in one: `stepMany`); losses come back through a ring
 * of staging buffers.
 *   const model = new GraphModel(gpu, makeClassifier({ ... }));
 *   await new Solver(model, data, { updateRule: 'adam' }).train();
 */
export class GraphModel {
  readonly definition: ModelDefinition;
  /** Models stacked along the model axis (1 for one model; a population's size). */
  readonly models: number;
  /** What lives on the device: the stores and the session (all made anew by `rebuildOn`). */
  private parts: DeviceParts;
  private readonly points: RecoveryPoints;
  private destroyed = false;

  constructor(gpu: GpuContext, definition: ModelDefinition) {
    this.definition = definition;
    this.models = definition.models ?? 1;
    if (!Number.isInteger(this.models) || this.models < 1)
      throw new Error(`${definition.name}: models must be an integer >= 1, got ${definition.models}`);
    const scope = createScope(gpu);
    const tensors = createModelTensors(scope, definition);
    this.parts = { scope, tensors, session: new TrainingSession(gpu, definition, this.models, tensors) };
    this.points = new RecoveryPoints(definition.name);
  }

  /** The device the model lives on (a new one after `rebuildOn`). */
  get gpu(): GpuContext {
    return this.parts.session.gpu;
  }
  /** Parameters, their gradients (same layout) and the state (running statistics), each one flat buffer. */
  get params(): TensorStore {
    return this.parts.tensors.params;
  }
  get grads(): TensorStore {
    return this.parts.tensors.grads;
  }
  get state(): TensorStore {
    return this.parts.tensors.state;
  }
  private get session(): TrainingSession {
    return this.parts.session;
  }

  /** Upload (and check) the Solver's data; plans gathering from the old data are dropped. */
  attachData(data: unknown): Promise<void> {
    return this.session.attachData(data);
  }

  /**
   * Train on the data `other` uploaded (a model of the same inputs and classes on the same device; a population's
   * groups share one upload). `other` owns it: release this model's data before `other`'s; a rebuild does not upload it.
   *   await groups[0].attachData(data); await groups[1].shareDataOf(groups[0]);
   */
  shareDataOf(other: GraphModel): Promise<void> {
    return this.session.shareData(other.session);
  }

  /**
   * Free the uploaded training data (150 MB for CIFAR-10) once training is over; the parameters stay, so
   * scores, safetensors and getParams still work, and attachData uploads again.
   *   await new Solver(net, data, opts).train(); await net.releaseData();
   *   await net.saveSafetensors();
   */
  releaseData(): Promise<void> {
    return this.session.releaseData();
  }

  /** Set the update rule (cs231n names and config); its state (velocity, cache, m, v) starts at zero. */
  setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void> {
    return this.session.setUpdateRule(rule, optimConfig);
  }

  /** The learning rate from the next queued step on (steps already queued keep theirs): one for every model, or one per model. */
  setLearningRate(lr: number | readonly number[]): void {
    this.session.setLearningRate(lr);
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
    return this.session.stepModels(indices);
  }

  /**
   * Queue several training steps in one submit (step j on rows `indicesList[j]`, one batch size); resolves to each
   * step's loss, bit for bit what as many `step` calls give (one model; see stepModelsMany).
   *   const [l0, l1, l2] = await net.stepMany([rows0, rows1, rows2]);
   */
  stepMany(indicesList: readonly Uint32Array[]): Promise<number[]> {
    if (this.models !== 1)
      throw new Error(`stepMany: ${this.definition.name} is a population of ${this.models} models; stepModelsMany gives each one's loss`);
    return this.stepModelsMany(indicesList).then((steps) => steps.map((l) => l[0]!));
  }

  /**
   * Queue several training steps of every model in one command buffer (one write of their rows, one pass, one
   * readback); resolves to each step's losses, one per model, bit for bit what as many `stepModels` calls give.
   *   const [losses0, losses1] = await population.stepModelsMany([rows0, rows1]);
   */
  stepModelsMany(indicesList: readonly Uint32Array[]): Promise<Float64Array[]> {
    return this.session.stepModelsMany(indicesList);
  }

  /** Dispatches of one training step at batch size `batch` (compiles the plan if needed), for benchmarks. */
  dispatchesPerStep(batch: number): Promise<number> {
    return this.session.dispatchesPerStep(batch);
  }

  /**
   * The dispatch records of one training step at batch size `batch` (compiles the plan if needed), for profiles.
   *   const list = await net.trainDispatches(50);
   *   list.map((d) => d.workgroups); // each launch's grid
   */
  trainDispatches(batch: number): Promise<readonly Dispatch[]> {
    return this.session.trainDispatches(batch);
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
  accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array> {
    return this.session.accuracyModels(split, indices);
  }

  /**
   * Notebook-style: with labels, a train-mode pass returning the loss and every gradient (no update); without,
   * test-mode class scores.
   *   const { loss, grads } = await model.loss(X, y);
   *   const scores = await model.loss(X);
   */
  async loss(X: DirectRows): Promise<Float32Array>;
  async loss(X: DirectRows, y: ArrayLike<number>): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  async loss(X: DirectRows, y?: ArrayLike<number>): Promise<Float32Array | { loss: number; grads: Record<string, Float32Array> }> {
    if (this.models !== 1)
      throw new Error(
        `loss: ${this.definition.name} is a population of ${this.models} models; train it with PopulationSolver, or take one model's parameters into a single net`,
      );
    const { gpu } = this;
    if (y === undefined) {
      const plan = await this.session.runDirect('scores', X);
      const scores = plan.program.scores!;
      return new Float32Array(await readBuffer(gpu, plan.bufferOf(scores), scores.shape.reduce((a, b) => a * b, 1) * 4));
    }
    const plan = await this.session.runDirect('grads', X, y);
    const loss = new Float32Array(await readBuffer(gpu, plan.loss!)).reduce((a, b) => a + b, 0);
    const grads: Record<string, Float32Array> = {};
    for (const name of this.grads.layout.names) grads[name] = new Float32Array(await readBuffer(gpu, this.grads.ref(name)));
    return { loss, grads };
  }

  /** Every parameter and state tensor by name (one naming convention: the safetensors names), in the definition's view. */
  async getParams(): Promise<Record<string, NamedTensor>> {
    if (this.gpu.lostInfo) return this.points.tensors(this.gpu, this.parts.tensors);
    await this.session.settled();
    return this.parts.tensors.read(this.gpu);
  }

  /**
   * Overwrite parameters or state by name; every entry's name, size and (when given) shape is checked before
   * any is written, so a mismatch leaves the model unchanged.
   *   net.setParams({ W1: { data: w1, shape: [3072, 100] } });
   */
  setParams(values: TensorValues): void {
    this.parts.tensors.write(values);
  }

  /** The parameters and state as a safetensors file (F32), with the definition's metadata. */
  async saveSafetensors(): Promise<Uint8Array> {
    const tensors = await this.getParams();
    const from = this.paramsSource();
    const meta = this.definition.metadata;
    return encodeSafetensors(tensors, from.source === 'checkpoint' ? { ...meta, checkpointIteration: String(from.iteration) } : meta);
  }

  /**
   * Load a safetensors file with this model's tensor names and shapes (a CPU reference export loads too). A
   * tensor of the model missing from the file is an error naming it unless `partial`; on any error nothing is written.
   *   net.loadSafetensors(bytes); // every tensor
   *   net.loadSafetensors(weightsOnly, { partial: true }); // running statistics kept
   */
  loadSafetensors(bytes: Uint8Array, options: { partial?: boolean } = {}): void {
    this.parts.tensors.load(bytes, options);
  }

  /** A real copy of the parameters and state (on the host), independent of later steps. */
  async snapshot(): Promise<{ params: Float32Array; state: Float32Array }> {
    await this.session.settled();
    return this.parts.tensors.snapshot(this.gpu);
  }

  /** Where model k's values sit in a snapshot (f32 ranges of its params and of its state), so a population keeps each model's best. */
  snapshotRanges(k: number): { params: [number, number][]; state: [number, number][] } {
    return this.parts.tensors.ranges(this.models, k);
  }

  /** Put a snapshot back. */
  async restore(snapshot: unknown): Promise<void> {
    await this.session.settled();
    await this.parts.tensors.restore(this.gpu, snapshot);
  }

  /**
   * Queue a host checkpoint behind the steps queued so far: the stores (params, state, the rule's slots) are copied
   * in one submit and read by mapAsync, so later steps queue meanwhile; the rule's config (Adam's `t`, the
   * learning rate) is taken as the next step will use it. The newest one read answers `getParams` after a loss.
   *   const ckpt = await model.checkpoint(solver.lossHistory.length);
   *   await other.rebuildOn(newGpu, ckpt);
   */
  checkpoint(iteration: number): Promise<ModelCheckpoint> {
    return this.points.take(this.parts, iteration);
  }

  /** Where `getParams` and `saveSafetensors` answer from: the device, or (once it is lost) the host checkpoint of an iteration. */
  paramsSource(): ParamsSource {
    return this.points.source(this.gpu);
  }

  /** The newest host checkpoint read back, or null. */
  get checkpointed(): ModelCheckpoint | null {
    return this.points.last;
  }

  /**
   * Move the model to `gpu` (a new device after a loss) at `checkpoint`: new stores with its values, the update
   * rule with its slots and config, the attached data uploaded again, every plan compiled anew on first use.
   * Nothing of the old device is used afterwards.
   *   await model.rebuildOn(await requestGpu(), model.checkpointed!);
   *   await model.step(indices); // on the new device
   */
  async rebuildOn(gpu: GpuContext, checkpoint: ModelCheckpoint): Promise<void> {
    const old = this.parts;
    await old.session.settled(); // steps queued on the old device end first (they fail fast once it is lost)
    this.parts = await createPartsAt(gpu, this.definition, this.models, checkpoint, old.session.attached, old.tensors);
    this.points.last = checkpoint;
    old.session.abandon();
    old.scope.destroy();
  }

  /** Free every GPU buffer of the model and its compiled plans. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.session.destroy();
    this.parts.scope.destroy();
  }
}
