// A population of FullyConnectedNeuralNets: M nets of one architecture stacked along a model axis and trained by one GraphModel plan.
import type { GpuContext } from '../gpu/device.ts';
import { sizeOf } from '../graph/graph.ts';
import { GraphModel } from '../graph/model.ts';
import type { TensorView } from '../graph/model-definition.ts';
import { encodeSafetensors, type NamedTensor } from '../graph/safetensors.ts';
import {
  makeNetTensors,
  resolveNetOptions,
  type FullyConnectedNeuralNetOptions,
  type Normalization,
  type ResolvedNetOptions,
} from '../reference/fc-net.ts';
import { makeClassifier } from './classifier.ts';
import { fcForward, type NetSpec } from './fc-net.ts';
import { drawInitialWeights, makeInitialTensors } from './initial-weights.ts';
import { planPopulationGroups } from './population-size.ts';

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
 * batched matmuls. Hidden widths are stored rounded up to a multiple of 4 (`storedDims`; the extra units are zero
 * and invisible to getParams / setParams: the model's view, `makeStoredWidthView`). Each model has its own loss, L2 strength, learning rate and accuracy; a model whose loss turns
 * NaN or infinite is frozen on the GPU while the others train on. Model k starts exactly as the single
 * `FullyConnectedNeuralNet` with its options (its weights drawn on the GPU from its own seed's streams).
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

  private constructor(
    gpu: GpuContext,
    hiddenDims: number[],
    net: ResolvedNetOptions,
    spec: NetSpec,
    members: Required<PopulationMember>[],
    maxChunkBytes?: number,
  ) {
    const M = members.length;
    const { params, state } = makeInitialTensors(net, M, spec.dims);
    const modelShapes = Object.fromEntries(makeNetTensors(net).map((t) => [t.name, t.shape]));
    const storedShapes = Object.fromEntries(
      [...params, ...state].map((t) => [t.name, t.shape.length === 3 ? t.shape.slice(1) : [t.shape[0]! / M]]),
    );
    const definition = makeClassifier({
      name: 'FullyConnectedPopulation',
      inputDim: net.dims[0]!,
      numClasses: net.dims.at(-1)!,
      models: M,
      params,
      state,
      forward: fcForward(spec),
      metadata: {
        format: 'webgpu-batchnorm',
        models: String(M),
        hiddenDims: JSON.stringify(hiddenDims),
        normalization: String(net.normalization),
      },
      upload: { maxChunkBytes },
    });
    super(gpu, { ...definition, view: makeStoredWidthView(modelShapes, storedShapes, M) });
    this.hiddenDims = [...hiddenDims];
    this.members = members;
    this.normalization = net.normalization;
    this.useBatchnorm = net.normalization === 'batchnorm';
    this.backwardVariant = net.backwardVariant;
    this.inputDim = net.dims[0]!;
    this.numClasses = net.dims.at(-1)!;
    this.modelShapes = modelShapes;
    this.storedDims = [...spec.dims];
  }

  /**
   * The layer sizes as the GPU stores them: the hidden widths rounded up to a multiple of 4 (50 -> 52), so every
   * model's block of a [batch, M·width] activation and every row of its weights starts on a vec4 and the CPU
   * adapters' vec4 matmul kernel runs on all models' layers. The extra units are exactly zero and stay zero:
   * zero weights in and out, zero bias and beta (and gamma), so they add nothing to any sum, and their
   * gradients are zero. getParams, setParams, modelParams and the safetensors files see the real widths only.
   */
  readonly storedDims: number[];

  /**
   * Build a population on `gpu`: the shared options of every member (as a single net's), and each member's own. Every
   * model's weights are drawn on the GPU, keyed by its own seed only (src/reference/philox.ts): model k starts exactly
   * as the single `FullyConnectedNeuralNet` with its options, whatever the population's size or k.
   */
  static async create(gpu: GpuContext, hiddenDims: number[], options: PopulationOptions): Promise<FullyConnectedPopulation> {
    const { members, eps = 1e-5, momentum = 0.9, maxChunkBytes, weightScale, seed, reg, ...shared } = options;
    if (!Array.isArray(members) || members.length < 1) throw new Error('FullyConnectedPopulation: members must list at least one model');
    const nets = members.map((m, k) => {
      const unknown = Object.keys(m).filter((key) => !['weightScale', 'seed', 'reg'].includes(key));
      if (unknown.length)
        throw new Error(`FullyConnectedPopulation: members[${k}] has unknown key "${unknown[0]}" (expected weightScale, seed, reg)`);
      const own = { weightScale: m.weightScale ?? weightScale, seed: m.seed ?? seed, reg: m.reg ?? reg };
      return resolveNetOptions(hiddenDims, { ...shared, ...own }, `FullyConnectedPopulation: members[${k}]`);
    });
    const resolved = nets.map(({ weightScale, seed, reg }) => ({ weightScale, seed, reg }));
    const net = nets[0]!;
    const fit = planPopulationGroups(gpu.device.limits, {
      dims: net.dims,
      normalization: net.normalization,
      updateRule: 'sgd',
      batchSize: 1,
    });
    if (members.length > fit.modelsPerGroup)
      throw new Error(
        `FullyConnectedPopulation: ${members.length} models do not fit one storage binding (the device's ${fit.limit} is ${fit.binding} bytes; ` +
          `at most ${fit.modelsPerGroup} of these nets fit one): PopulationGroups.create splits them into groups`,
      );
    const spec: NetSpec = {
      dims: [net.dims[0]!, ...hiddenDims.map(roundUp4), net.dims.at(-1)!],
      normalization: net.normalization,
      activation: net.activation,
      reg: 0,
      eps,
      momentum,
      backwardVariant: net.backwardVariant,
      regs: nets.map((r) => r.reg),
      features: net.dims,
    };
    const population = new FullyConnectedPopulation(gpu, hiddenDims, net, spec, resolved, maxChunkBytes);
    await drawInitialWeights(population, net.dims, resolved, spec.dims);
    return population;
  }

  /**
   * Model k's parameters and running statistics, named and shaped as the single net's (they load into one).
   *   const one = await FullyConnectedNeuralNet.create(gpu, dims, opts); one.setParams(await pop.modelParams(3));
   */
  async modelParams(k: number): Promise<Record<string, NamedTensor>> {
    if (!Number.isInteger(k) || k < 0 || k >= this.models) throw new Error(`modelParams: model ${k} is not in 0..${this.models - 1}`);
    const all = await this.getParams();
    return Object.fromEntries(
      Object.entries(all).map(([name, t]) => {
        const per = t.data.length / this.models;
        return [name, { data: t.data.slice(k * per, (k + 1) * per), shape: [...this.modelShapes[name]!] }];
      }),
    );
  }

  /** Model k as a safetensors file with the single net's names and shapes (it loads into a FullyConnectedNeuralNet). */
  async saveModelSafetensors(k: number): Promise<Uint8Array> {
    return encodeSafetensors(await this.modelParams(k), {
      format: 'webgpu-batchnorm',
      hiddenDims: JSON.stringify(this.hiddenDims),
      useBatchnorm: String(this.useBatchnorm),
      normalization: String(this.normalization),
      weightScale: String(this.members[k]!.weightScale),
      seed: String(this.members[k]!.seed),
    });
  }
}

const roundUp4 = (d: number) => Math.ceil(d / 4) * 4;

/**
 * The population's outside view of its stores: every tensor in the real widths, all models stacked (model k's
 * block the k-th), converted to and from the stored widths (the padding units written as zeros, never shown).
 *   const view = makeStoredWidthView({ b1: [7] }, { b1: [8] }, 2);
 *   view.toStored('b1', real14); // 16 values: each model's 7, then a zero
 */
export function makeStoredWidthView(modelShapes: Record<string, number[]>, storedShapes: Record<string, number[]>, M: number): TensorView {
  const convert = (src: Float32Array, from: readonly number[], to: readonly number[]) => {
    const perFrom = sizeOf(from);
    const perTo = sizeOf(to);
    const out = new Float32Array(perTo * M);
    for (let k = 0; k < M; k++) copyCorner(out, k * perTo, to, src.subarray(k * perFrom, (k + 1) * perFrom), from);
    return out;
  };
  return {
    shapes: Object.fromEntries(Object.entries(modelShapes).map(([n, one]) => [n, stacked(one, M)])),
    toStored: (name, real) => convert(real, modelShapes[name]!, storedShapes[name]!),
    fromStored: (name, stored) => convert(stored, storedShapes[name]!, modelShapes[name]!),
  };
}

/** One model's tensor of shape `one` stacked for M models: matrices [M, rows, cols], vectors [M·width]. */
function stacked(one: readonly number[], M: number): number[] {
  return one.length === 2 ? [M, ...one] : [M * one[0]!];
}

/**
 * Copy the common top-left corner of `src` (shape `from`) into `out` at `at` (shape `to`), both row-major matrices or
 * vectors: into a larger `to` it pads (the rest of `out` stays as it is, zeros), into a smaller one it cuts.
 */
function copyCorner(
  out: Float32Array | Float64Array,
  at: number,
  to: readonly number[],
  src: ArrayLike<number>,
  from: readonly number[],
): void {
  const [rf, cf] = from.length === 2 ? from : [1, from[0]!];
  const [rt, ct] = to.length === 2 ? to : [1, to[0]!];
  const rows = Math.min(rf!, rt!);
  const cols = Math.min(cf!, ct!);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[at + i * ct! + j] = src[i * cf! + j]!;
}
