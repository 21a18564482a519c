// A population of FullyConnectedNeuralNets: M nets of one architecture stacked along a model axis and trained by one GraphModel plan.
import type { GpuContext } from '../gpu/device.ts';
import { GraphModel } from '../graph/model.ts';
import { encodeSafetensors, type NamedTensor } from '../graph/safetensors.ts';
import { FullyConnectedNeuralNet as ReferenceNet, type FullyConnectedNeuralNetOptions, type Normalization } from '../reference/fc-net.ts';
import { makeClassifier } from './classifier.ts';
import { fcForward, type NetSpec } from './fc-net.ts';

/** What one member of a population has of its own: its initial weights (scale, seed) and its L2 strength. */
export interface PopulationMember {
  weightScale?: number;
  seed?: number;
  reg?: number;
}

export interface PopulationOptions extends Omit<FullyConnectedNeuralNetOptions, 'weightScale' | 'seed' | 'reg'> {
  /** One entry per model; what an entry leaves out comes from `weightScale`, `seed`, `reg` below (then the reference's defaults). */
  members: PopulationMember[];
  weightScale?: number;
  seed?: number;
  reg?: number;
  eps?: number;
  momentum?: number;
  /** The largest chunk of training rows on the GPU, in bytes (default: the device's storage-binding limit). */
  maxChunkBytes?: number;
}

/**
 * M fully-connected nets ({affine - [batchnorm] - relu} x (L-1) - affine) trained side by side: one gather, one
 * plan and one submit per step for all. Every tensor stacks the models (W [M, in, out], vectors [M·width]); the
 * activations are [batch, M·width], so batchnorm and ReLU run on all models at once and the affine layers are
 * batched matmuls. Each model has its own loss, L2 strength, learning rate and accuracy; a model whose loss turns
 * NaN or infinite is frozen on the GPU while the others train on. Model k starts exactly as the single
 * `FullyConnectedNeuralNet` with its options (the float64 reference draws its weights).
 *   const pop = await FullyConnectedPopulation.create(gpu, [100, 100], { useBatchnorm: true, members: scales.map((weightScale) => ({ weightScale })) });
 *   const result = await new PopulationSolver(pop, data, { updateRule: 'adam' }).train();
 */
export class FullyConnectedPopulation extends GraphModel {
  readonly hiddenDims: number[];
  readonly members: Required<PopulationMember>[];
  readonly normalization: Normalization;
  readonly useBatchnorm: boolean;
  readonly backwardVariant: 'graph' | 'alternative';
  readonly inputDim: number;
  readonly numClasses: number;
  /** Each tensor's shape in one model (the single net's), by name. */
  readonly modelShapes: Record<string, number[]>;

  private constructor(gpu: GpuContext, hiddenDims: number[], refs: ReferenceNet[], spec: NetSpec, members: Required<PopulationMember>[], maxChunkBytes?: number) {
    const M = refs.length;
    const perModel = refs.map((r) => r.namedTensors());
    const names = Object.keys(perModel[0]!);
    const tensors = names.map((name) => {
      const one = perModel[0]![name]!;
      const data = new Float64Array(one.data.length * M);
      perModel.forEach((t, k) => data.set(t[name]!.data, k * one.data.length));
      return { name, shape: one.shape.length === 2 ? [M, ...one.shape] : [M * one.shape[0]!], data };
    });
    super(gpu, makeClassifier({
      name: 'FullyConnectedPopulation',
      inputDim: refs[0]!.inputDim,
      numClasses: refs[0]!.numClasses,
      models: M,
      params: tensors.filter((t) => !t.name.startsWith('running')),
      state: tensors.filter((t) => t.name.startsWith('running')),
      forward: fcForward(spec),
      metadata: { format: 'webgpu-batchnorm', models: String(M), hiddenDims: JSON.stringify(hiddenDims), normalization: String(refs[0]!.normalization) },
      upload: { maxChunkBytes },
    }));
    this.hiddenDims = [...hiddenDims];
    this.members = members;
    this.normalization = refs[0]!.normalization;
    this.useBatchnorm = refs[0]!.useBatchnorm;
    this.backwardVariant = refs[0]!.backwardVariant;
    this.inputDim = refs[0]!.inputDim;
    this.numClasses = refs[0]!.numClasses;
    this.modelShapes = Object.fromEntries(names.map((n) => [n, [...perModel[0]![n]!.shape]]));
  }

  /** Build a population on `gpu`: the shared options of every member (as a single net's), and each member's own. */
  static async create(gpu: GpuContext, hiddenDims: number[], options: PopulationOptions): Promise<FullyConnectedPopulation> {
    const { members, eps = 1e-5, momentum = 0.9, maxChunkBytes, weightScale, seed, reg, ...shared } = options;
    if (!Array.isArray(members) || members.length < 1) throw new Error('FullyConnectedPopulation: members must list at least one model');
    const refs = members.map((m, k) => {
      const unknown = Object.keys(m).filter((key) => !['weightScale', 'seed', 'reg'].includes(key));
      if (unknown.length) throw new Error(`FullyConnectedPopulation: members[${k}] has unknown key "${unknown[0]}" (expected weightScale, seed, reg)`);
      return new ReferenceNet(hiddenDims, { ...shared, weightScale: m.weightScale ?? weightScale, seed: m.seed ?? seed, reg: m.reg ?? reg });
    });
    if (refs[0]!.normalization === 'layernorm') {
      throw new Error('FullyConnectedPopulation: normalization "layernorm" is not batched yet (it normalizes each row across its features, which in the stacked layout span every model); use batchnorm or none');
    }
    const resolved = refs.map((r, k) => ({ weightScale: members[k]!.weightScale ?? weightScale ?? 1e-2, seed: members[k]!.seed ?? seed ?? 0, reg: r.reg }));
    const r0 = refs[0]!;
    const spec: NetSpec = {
      dims: [r0.inputDim, ...hiddenDims, r0.numClasses], normalization: r0.normalization, reg: 0, eps, momentum,
      backwardVariant: r0.backwardVariant, regs: refs.map((r) => r.reg),
    };
    return new FullyConnectedPopulation(gpu, hiddenDims, refs, spec, resolved, maxChunkBytes);
  }

  /**
   * Model k's parameters and running statistics, named and shaped as the single net's (they load into one).
   *   const one = await FullyConnectedNeuralNet.create(gpu, dims, opts); one.setParams(await pop.modelParams(3));
   */
  async modelParams(k: number): Promise<Record<string, NamedTensor>> {
    if (!Number.isInteger(k) || k < 0 || k >= this.models) throw new Error(`modelParams: model ${k} is not in 0..${this.models - 1}`);
    const all = await this.getParams();
    return Object.fromEntries(Object.entries(all).map(([name, t]) => {
      const per = t.data.length / this.models;
      return [name, { data: t.data.slice(k * per, (k + 1) * per), shape: [...this.modelShapes[name]!] }];
    }));
  }

  /** Model k as a safetensors file with the single net's names and shapes (it loads into a FullyConnectedNeuralNet). */
  async saveModelSafetensors(k: number): Promise<Uint8Array> {
    return encodeSafetensors(await this.modelParams(k), {
      format: 'webgpu-batchnorm', hiddenDims: JSON.stringify(this.hiddenDims), useBatchnorm: String(this.useBatchnorm),
      normalization: String(this.normalization), weightScale: String(this.members[k]!.weightScale), seed: String(this.members[k]!.seed),
    });
  }
}
