// The GPU FullyConnectedNeuralNet: params on the GPU, compiled graphs per batch size, one submit per training step.
import { assertNotLost, type GpuContext } from '../gpu/device.ts';
import { createScope, readBuffer, type GpuScope } from '../gpu/buffers.ts';
import { encodeDispatches, type Dispatch } from '../gpu/dispatch.ts';
import { compileGraph } from '../graph/executor.ts';
import type { Value } from '../graph/graph.ts';
import { FullyConnectedNeuralNet as ReferenceNet, type FullyConnectedNeuralNetOptions, type Normalization } from '../reference/fc-net.ts';
import { createOptimizer, type Optimizer } from '../ops/optim.ts';
import type { SolverData, TrainableModel } from '../solver/model.ts';
import { checkIndices, uploadSplit, type SplitOnGpu } from './data-on-gpu.ts';
import { buildNetGraph, type GraphKind, type NetSpec, type NetValues, type RowSource } from './net-graph.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';

export interface GpuNetOptions extends FullyConnectedNeuralNetOptions {
  /** Batchnorm / layer norm epsilon (1e-5) and batchnorm's running-average momentum (0.9). */
  eps?: number;
  momentum?: number;
}

/** A compiled graph and the buffers it is fed through. */
interface Plan {
  scope: GpuScope;
  dispatches: Dispatch[];
  values: NetValues;
  buffers: Record<string, GPUBuffer>;
  batch: number;
  bufferOf(v: Value): GPUBuffer;
}


const ringSize = 4;

/**
 * A fully-connected network with optional batchnorm or layer norm (`normalization`), trained on the GPU; the Solver trains it like the reference.
 *   const net = await FullyConnectedNeuralNet.create(gpu, [100, 100], { useBatchnorm: true });
 *   const { loss, grads } = await net.loss(X, y);
 */
export class FullyConnectedNeuralNet implements TrainableModel {
  readonly gpu: GpuContext;
  readonly spec: NetSpec;
  readonly hiddenDims: number[];
  readonly numLayers: number;
  readonly normalization: Normalization;
  /** `normalization === 'batchnorm'` (the seed's flag). */
  readonly useBatchnorm: boolean;
  readonly backwardVariant: 'graph' | 'alternative';
  /** Parameter buffers by the seed's names (W1.., b1.., gamma1.., beta1..) and their shapes. */
  readonly params: Record<string, GPUBuffer> = {};
  readonly shapes: Record<string, number[]> = {};
  /** Running statistics per hidden layer (batchnorm only). */
  readonly runningMean: GPUBuffer[] = [];
  readonly runningVar: GPUBuffer[] = [];
  private readonly grads: Record<string, GPUBuffer> = {};
  private readonly scope: GpuScope;
  private readonly lossBuf: GPUBuffer;
  private readonly correctBuf: GPUBuffer;
  private readonly plans = new Map<string, Promise<Plan>>();
  private data: { scope: GpuScope; train: SplitOnGpu; val: SplitOnGpu; mean: GPUBuffer } | null = null;
  private optimizer: Optimizer | null = null;
  private optimizerScope: GpuScope | null = null;
  private ring: { buf: GPUBuffer; busy: Promise<number> | null }[] = [];
  private ringPos = 0;
  private stepTail: Promise<void> = Promise.resolve();
  private lastStepDispatches = 0;
  private snapshotBufs: Record<string, GPUBuffer> | null = null;
  private destroyed = false;

  private constructor(gpu: GpuContext, hiddenDims: number[], options: GpuNetOptions) {
    const { eps = 1e-5, momentum = 0.9, ...refOptions } = options;
    // The reference draws the initial weights: same seed, same network, on both sides.
    const ref = new ReferenceNet(hiddenDims, refOptions);
    this.gpu = gpu;
    this.hiddenDims = [...hiddenDims];
    this.numLayers = ref.numLayers;
    this.normalization = ref.normalization;
    this.useBatchnorm = ref.useBatchnorm;
    this.backwardVariant = ref.backwardVariant;
    this.spec = { dims: [ref.inputDim, ...hiddenDims, ref.numClasses], normalization: ref.normalization, reg: ref.reg, eps, momentum, backwardVariant: ref.backwardVariant };
    this.scope = createScope(gpu);
    for (const [name, t] of Object.entries(ref.params)) {
      this.shapes[name] = [...t.shape];
      this.params[name] = this.scope.createTensorBuffer(Float32Array.from(t.data), name);
      this.grads[name] = this.scope.createTensorBuffer(t.data.length * 4, `d${name}`);
    }
    for (const bn of ref.bnParams) {
      this.runningMean.push(this.scope.createTensorBuffer(Float32Array.from(bn.runningMean!), 'runningMean'));
      this.runningVar.push(this.scope.createTensorBuffer(Float32Array.from(bn.runningVar!), 'runningVar'));
    }
    this.lossBuf = this.scope.createTensorBuffer((this.numLayers + 1) * 4, 'loss slots');
    this.correctBuf = this.scope.createTensorBuffer(4, 'correct count');
    for (let i = 0; i < ringSize; i++) {
      const buf = gpu.device.createBuffer({ label: `loss readback ${i}`, size: this.lossBuf.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.scope.buffers.push(buf);
      this.ring.push({ buf, busy: null });
    }
  }

  /** Build a network on `gpu`; options as the reference's (inputDim, numClasses, normalization or useBatchnorm, reg, weightScale, seed, backwardVariant). */
  static async create(gpu: GpuContext, hiddenDims: number[], options: GpuNetOptions = {}): Promise<FullyConnectedNeuralNet> {
    return new FullyConnectedNeuralNet(gpu, hiddenDims, options);
  }

  get reg(): number { return this.spec.reg; }
  get inputDim(): number { return this.spec.dims[0]!; }
  get numClasses(): number { return this.spec.dims[this.spec.dims.length - 1]!; }

  private external(values: NetValues, buffers: Record<string, GPUBuffer>): Map<Value, GPUBuffer> {
    const m = new Map<Value, GPUBuffer>();
    for (const [name, v] of Object.entries(values.params)) m.set(v, this.params[name]!);
    for (const [name, v] of Object.entries(values.grads)) m.set(v, this.grads[name]!);
    values.runningMean.forEach((v, i) => m.set(v, this.runningMean[i]!));
    values.runningVar.forEach((v, i) => m.set(v, this.runningVar[i]!));
    if (values.loss) m.set(values.loss, this.lossBuf);
    if (values.correct) m.set(values.correct, this.correctBuf);
    for (const [name, v] of Object.entries(values.inputs)) m.set(v, buffers[name]!);
    return m;
  }

  /** Compile (once per kind, source and batch) the graph and the buffers that feed it. */
  private plan(kind: GraphKind, source: RowSource, feed: (scope: GpuScope) => Record<string, GPUBuffer>, tag = ''): Promise<Plan> {
    const key = `${kind}:${tag}:${JSON.stringify(source)}`;
    let p = this.plans.get(key);
    if (!p) {
      p = (async () => {
        const { graph, values } = buildNetGraph(this.spec, kind, source);
        const scope = createScope(this.gpu);
        try {
          const buffers = feed(scope);
          const compiled = await compileGraph(scope, graph, this.external(values, buffers));
          return { scope, dispatches: compiled.dispatches, values, buffers, batch: source.batch, bufferOf: compiled.bufferOf };
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

  private gatherPlan(kind: GraphKind, split: SplitOnGpu, batch: number): Promise<Plan> {
    const d = this.data!;
    return this.plan(kind, { kind: 'gather', format: split.format, rows: split.rows, batch, chunkRows: split.chunkRows }, (scope) => ({
      ...Object.fromEntries(split.X.map((b, c) => [`X${c}`, b])), y: split.y, mean: d.mean, indices: scope.createTensorBuffer(batch * 4, 'indices'),
    }), split.name);
  }

  async attachData(data: SolverData): Promise<void> {
    const anyU8 = data.XTrain.data instanceof Uint8Array || data.XVal.data instanceof Uint8Array;
    if (anyU8 && !data.meanImage) throw new Error('attachData: uint8 images need data.meanImage');
    if (data.meanImage && data.meanImage.length !== this.inputDim) {
      throw new Error(`attachData: meanImage has ${data.meanImage.length} values, the net takes inputDim ${this.inputDim}`);
    }
    // Upload (and validate) the new data first; the old data stays usable if this throws.
    const scope = createScope(this.gpu);
    let next: NonNullable<typeof this.data>;
    try {
      const mean = scope.createTensorBuffer(data.meanImage ? Float32Array.from(data.meanImage) : new Float32Array(this.inputDim), 'mean image');
      next = { scope, mean, train: uploadSplit(scope, data.XTrain, data.yTrain, 'XTrain', this.inputDim, this.numClasses), val: uploadSplit(scope, data.XVal, data.yVal, 'XVal', this.inputDim, this.numClasses) };
    } catch (e) {
      scope.destroy();
      throw e;
    }
    await this.dropData();
    this.data = next;
  }

  /** Wait for queued steps, then free the uploaded data and the plans that bind it. */
  private async dropData(): Promise<void> {
    await this.stepTail; // steps already queued were encoded against the old data
    await Promise.all(this.ring.map((r) => r.busy?.catch(() => 0)));
    for (const [key, p] of [...this.plans]) {
      if (!key.includes('"gather"')) continue; // gather plans bind the old data buffers
      this.plans.delete(key);
      const r = await Promise.allSettled([p]);
      if (r[0]!.status === 'fulfilled') r[0]!.value.scope.destroy();
    }
    this.data?.scope.destroy();
    this.data = null;
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

  async setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void> {
    const list = Object.keys(this.params).map((name) => ({ name, w: this.params[name]!, dw: this.grads[name]!, count: this.params[name]!.size / 4 }));
    const scope = createScope(this.gpu); // the optimizer's state (m, v, velocity, cache) and uniforms
    let optimizer: Optimizer;
    try {
      optimizer = await createOptimizer(scope, rule as 'sgd', optimConfig, list);
    } catch (e) {
      scope.destroy();
      throw e;
    }
    await this.stepTail; // queued steps use the old rule
    this.optimizerScope?.destroy();
    this.optimizer = optimizer;
    this.optimizerScope = scope;
  }

  /** The learning rate from the next queued step on (steps already queued keep theirs). */
  setLearningRate(lr: number): void {
    const opt = this.optimizer;
    if (!opt) throw new Error('setLearningRate: call setUpdateRule first');
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`setLearningRate: ${lr} is not a finite learning rate >= 0`);
    this.stepTail = this.stepTail.then(() => opt.setLearningRate(lr));
  }

  /** Queue one training step on rows `indices`; resolves to its loss when the GPU has finished it. */
  step(indices: Uint32Array): Promise<number> {
    // Steps are encoded strictly one after another (each may wait for a free readback slot), losses arrive later.
    const submitted = this.stepTail.then(() => this.submitStep(indices));
    this.stepTail = submitted.then(() => undefined, () => undefined);
    return submitted.then((r) => r.loss);
  }

  private async submitStep(indices: Uint32Array): Promise<{ loss: Promise<number> }> {
    assertNotLost(this.gpu);
    if (!this.data || !this.optimizer) throw new Error('step: call attachData and setUpdateRule first');
    checkIndices(indices, this.data.train.rows, 'step');
    const plan = await this.gatherPlan('train', this.data.train, indices.length);
    const slot = this.ring[this.ringPos++ % ringSize]!;
    if (slot.busy) await slot.busy;
    const { device } = this.gpu;
    if (this.gpu.debug) device.pushErrorScope('validation');
    device.queue.writeBuffer(plan.buffers.indices!, 0, indices as Uint32Array<ArrayBuffer>);
    this.optimizer.beginStep();
    const enc = device.createCommandEncoder({ label: 'train step' });
    const pass = enc.beginComputePass({ label: 'train step' });
    encodeDispatches(pass, plan.dispatches);
    encodeDispatches(pass, this.optimizer.dispatches);
    pass.end();
    this.lastStepDispatches = plan.dispatches.length + this.optimizer.dispatches.length;
    enc.copyBufferToBuffer(this.lossBuf, 0, slot.buf, 0, this.lossBuf.size);
    device.queue.submit([enc.finish()]);
    if (this.gpu.debug) await this.throwIfError('train step', [...plan.dispatches, ...this.optimizer.dispatches]);
    slot.busy = slot.buf.mapAsync(GPUMapMode.READ).then(() => {
      const parts = new Float32Array(slot.buf.getMappedRange());
      const loss = parts.reduce((a, b) => a + b, 0);
      slot.buf.unmap();
      return loss;
    });
    return { loss: slot.busy };
  }

  async accuracy(split: 'train' | 'val', indices: Uint32Array): Promise<number> {
    if (!this.data) throw new Error('accuracy: call attachData first');
    const s = split === 'train' ? this.data.train : this.data.val;
    checkIndices(indices, s.rows, `accuracy(${split})`);
    const chunk = 1000;
    const { device } = this.gpu;
    const clear = device.createCommandEncoder();
    clear.clearBuffer(this.correctBuf);
    device.queue.submit([clear.finish()]);
    for (let start = 0; start < indices.length; start += chunk) {
      const part = indices.subarray(start, Math.min(indices.length, start + chunk));
      const plan = await this.gatherPlan('accuracy', s, part.length);
      device.queue.writeBuffer(plan.buffers.indices!, 0, part as Uint32Array<ArrayBuffer>);
      await this.submit(plan.dispatches, 'accuracy');
    }
    const correct = new Uint32Array(await readBuffer(this.gpu, this.correctBuf, 4))[0]!;
    return correct / indices.length;
  }

  /** The dispatches of one training step at batch size `batch` (compiled plan then update), for profiling. */
  async trainDispatches(batch: number): Promise<Dispatch[]> {
    if (!this.data || !this.optimizer) throw new Error('trainDispatches: call attachData and setUpdateRule first');
    return [...(await this.gatherPlan('train', this.data.train, batch)).dispatches, ...this.optimizer.dispatches];
  }

  /** Dispatches one training step records (the compiled train plan plus the update), once a step has run. */
  dispatchesPerStep(): number {
    return this.lastStepDispatches;
  }

  private async submit(list: Dispatch[], label: string): Promise<void> {
    const { device } = this.gpu;
    if (this.gpu.debug) device.pushErrorScope('validation');
    const enc = device.createCommandEncoder({ label });
    const pass = enc.beginComputePass({ label });
    encodeDispatches(pass, list);
    pass.end();
    device.queue.submit([enc.finish()]);
    if (this.gpu.debug) await this.throwIfError(label, list);
  }

  /** Debug mode: pop the validation scope pushed before encoding; an error names the step and its dispatches. */
  private async throwIfError(label: string, list: Dispatch[]): Promise<void> {
    const err = await this.gpu.device.popErrorScope();
    if (err) throw new Error(`${label}: ${err.message} (dispatches: ${list.map((d) => d.label).join('; ')})`);
  }

  private directPlan(kind: GraphKind, X: { data: ArrayLike<number>; shape: number[] }, y?: ArrayLike<number>): Promise<Plan> {
    const n = X.shape[0]!;
    const d = X.data.length / n;
    if (d !== this.inputDim) throw new Error(`FullyConnectedNeuralNet: X has shape [${X.shape.join(',')}] (${d} features per row), expected inputDim ${this.inputDim}`);
    if (y && y.length !== n) throw new Error(`FullyConnectedNeuralNet: ${y.length} labels for ${n} rows`);
    return this.plan(kind, { kind: 'direct', batch: n }, (scope) => ({
      X: scope.createTensorBuffer(n * d * 4, 'X'),
      ...(kind === 'scores' ? {} : { y: scope.createTensorBuffer(n * 4, 'y') }),
    }));
  }

  /**
   * Notebook-style: with labels, a train-mode pass returning the loss and every gradient (no update); without,
   * test-mode class scores.
   *   const { loss, grads } = await net.loss(X, y);
   *   const scores = await net.loss(X);
   */
  async loss(X: { data: ArrayLike<number>; shape: number[] }): Promise<Float32Array>;
  async loss(X: { data: ArrayLike<number>; shape: number[] }, y: ArrayLike<number>): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  async loss(X: { data: ArrayLike<number>; shape: number[] }, y?: ArrayLike<number>): Promise<Float32Array | { loss: number; grads: Record<string, Float32Array> }> {
    assertNotLost(this.gpu);
    const kind = y === undefined ? 'scores' : 'train';
    const plan = await this.directPlan(kind, X, y);
    const q = this.gpu.device.queue;
    q.writeBuffer(plan.buffers.X!, 0, Float32Array.from(X.data));
    if (y !== undefined) {
      const labels = Uint32Array.from(y);
      labels.forEach((c, i) => { if (c >= this.numClasses) throw new Error(`FullyConnectedNeuralNet.loss: label ${c} at row ${i} is outside 0..${this.numClasses - 1}`); });
      q.writeBuffer(plan.buffers.y!, 0, labels);
    }
    await this.submit(plan.dispatches, kind);
    if (y === undefined) return new Float32Array(await readBuffer(this.gpu, plan.bufferOf(plan.values.scores), plan.batch * this.numClasses * 4));
    const parts = new Float32Array(await readBuffer(this.gpu, this.lossBuf));
    const grads: Record<string, Float32Array> = {};
    for (const name of Object.keys(this.params)) grads[name] = new Float32Array(await readBuffer(this.gpu, this.grads[name]!));
    return { loss: parts.reduce((a, b) => a + b, 0), grads };
  }

  /** Read every parameter and running statistic back (safetensors names). */
  async getParams(): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
    const out: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [name, buf] of Object.entries(this.params)) out[name] = { data: new Float32Array(await readBuffer(this.gpu, buf)), shape: this.shapes[name]! };
    for (let l = 0; l < this.runningMean.length; l++) {
      out[`runningMean${l + 1}`] = { data: new Float32Array(await readBuffer(this.gpu, this.runningMean[l]!)), shape: [this.spec.dims[l + 1]!] };
      out[`runningVar${l + 1}`] = { data: new Float32Array(await readBuffer(this.gpu, this.runningVar[l]!)), shape: [this.spec.dims[l + 1]!] };
    }
    return out;
  }

  /** Overwrite parameters (and running statistics) by name; shapes must match. */
  setParams(values: Record<string, { data: ArrayLike<number>; shape?: number[] }>): void {
    for (const [name, v] of Object.entries(values)) {
      const m = /^running(Mean|Var)(\d+)$/.exec(name);
      const buf = m ? (m[1] === 'Mean' ? this.runningMean : this.runningVar)[Number(m[2]) - 1] : this.params[name];
      if (!buf) throw new Error(`setParams: no parameter named ${name} (have ${Object.keys(this.params).join(', ')})`);
      if (v.data.length * 4 !== buf.size) throw new Error(`setParams: ${name} has ${v.data.length} values, expected ${buf.size / 4}`);
      this.gpu.device.queue.writeBuffer(buf, 0, Float32Array.from(v.data));
    }
  }

  /** The parameters and running statistics as a safetensors file. */
  async saveSafetensors(): Promise<Uint8Array> {
    return encodeSafetensors(await this.getParams(), { format: 'webgpu-batchnorm', hiddenDims: JSON.stringify(this.hiddenDims), useBatchnorm: String(this.useBatchnorm), normalization: String(this.normalization) });
  }

  /** Load a safetensors file saved by `saveSafetensors` (names and shapes must match this net). */
  loadSafetensors(bytes: Uint8Array): void {
    const tensors = decodeSafetensors(bytes);
    for (const [name, t] of Object.entries(tensors)) {
      const want = this.shapes[name] ?? (/^running/.test(name) ? t.shape : undefined);
      if (!want || want.join(',') !== t.shape.join(',')) throw new Error(`loadSafetensors: ${name} has shape [${t.shape.join(',')}], this net has ${want ? `[${want.join(',')}]` : 'no such tensor'}`);
    }
    this.setParams(tensors);
  }

  async snapshot(): Promise<unknown> {
    const all = { ...this.params, ...Object.fromEntries(this.runningMean.map((b, i) => [`runningMean${i + 1}`, b])), ...Object.fromEntries(this.runningVar.map((b, i) => [`runningVar${i + 1}`, b])) };
    this.snapshotBufs ??= Object.fromEntries(Object.entries(all).map(([k, b]) => [k, this.scope.createTensorBuffer(b.size, `best ${k}`)]));
    const enc = this.gpu.device.createCommandEncoder({ label: 'snapshot' });
    for (const [k, b] of Object.entries(all)) enc.copyBufferToBuffer(b, 0, this.snapshotBufs[k]!, 0, b.size);
    this.gpu.device.queue.submit([enc.finish()]);
    return all;
  }

  async restore(snapshot: unknown): Promise<void> {
    const all = snapshot as Record<string, GPUBuffer>;
    const enc = this.gpu.device.createCommandEncoder({ label: 'restore' });
    for (const [k, b] of Object.entries(all)) enc.copyBufferToBuffer(this.snapshotBufs![k]!, 0, b, 0, b.size);
    this.gpu.device.queue.submit([enc.finish()]);
    await this.gpu.device.queue.onSubmittedWorkDone();
  }

  /** Free every GPU buffer of the model and its compiled plans. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.stepTail;
    await Promise.all(this.ring.map((r) => r.busy?.catch(() => 0)));
    for (const r of await Promise.allSettled(this.plans.values())) if (r.status === 'fulfilled') r.value.scope.destroy();
    this.plans.clear();
    this.data?.scope.destroy();
    this.optimizerScope?.destroy();
    this.scope.destroy();
  }
}
