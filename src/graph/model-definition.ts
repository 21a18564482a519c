// What a model must describe to GraphModel: its named tensors, the graph of each program, its data upload, its update rules.
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { Graph, Value } from './graph.ts';
import type { StoreLayout, TensorStore } from './store.ts';

/** A named tensor with its initial values (row-major); without `data` it starts as zeros (a model may then draw it on the GPU). */
export interface TensorInit {
  name: string;
  shape: number[];
  data?: ArrayLike<number>;
}

/**
 * The programs a model compiles: 'train' (forward, backward, update: the whole step), 'grads' (forward and
 * backward, no update), 'scores' (test-mode forward), 'accuracy' (test-mode forward and a correct-count).
 */
export type ProgramKind = 'train' | 'grads' | 'scores' | 'accuracy';

/** A dataset split on the GPU: its buffers bound by value name (e.g. X, y, meanImage), its row count, and what its builder needs to know. */
export interface DataSplit {
  name: string;
  rows: number;
  buffers: Record<string, TensorRef>;
  /** Opaque to the engine: the builder reads it (e.g. the pixel format) to build the gather. */
  source: Record<string, unknown>;
}

/** One program to build: its kind, batch size, where the rows come from (a split, or matrices fed directly), the update rule. */
export interface ProgramRequest {
  kind: ProgramKind;
  batch: number;
  split?: DataSplit;
  rule?: string;
}

/**
 * A built program. Values are bound by kind and name: 'param' values to the parameter store, their gradients
 * (`grads`) to the gradient store, 'state' values to the state store, or to the update rule ('hyper', and
 * `slot/param` for its per-parameter state), 'data' values to the split's buffers or to `feeds` the host
 * writes before each run; `loss` and `correct` get buffers of their own.
 */
export interface ProgramGraph {
  graph: Graph;
  feeds: Record<string, Value>;
  grads: Record<string, Value>;
  loss?: Value;
  correct?: Value;
  scores?: Value;
}

/** Name of the update rule's hyperparameter value in a training graph (the one value of the rule that changes every step). */
export const hyperValueName = 'hyper';
/** Names of the update rule's per-model learning rates and alive flags in a training graph. */
export const ratesValueName = 'rates';
export const aliveValueName = 'alive';

/**
 * Name of a per-parameter update-rule state value (velocity, cache, m, v) in a training graph.
 *   slotValueName('m', 'W1'); // 'm/W1'
 *   slotValueName('velocity', 'b2'); // 'velocity/b2'
 */
export function slotValueName(slot: string, param: string): string {
  return `${slot}/${param}`;
}

/** The update rule's state a model keeps between steps (src/ops/optim.ts makes it). */
export interface ModelUpdateState {
  config: Record<string, number>;
  hyper: GPUBuffer;
  /** Each model's learning rate (f32) and alive flag (u32: 0 once its loss turned NaN or infinite). */
  rates: GPUBuffer;
  alive: GPUBuffer;
  slots: Record<string, TensorStore>;
  /** Every value name a training graph binds to the rule's state ('hyper', 'rates', 'alive', `slot/param`) and its buffer. */
  bound: ReadonlyMap<string, TensorRef>;
  beginStep(): void;
  /** Begin `count` steps submitted together: the bytes of `hyper` for each of them, in order (the caller binds step j to the j-th). */
  beginSteps(count: number): Uint8Array<ArrayBuffer>[];
  /** One rate for every model, or one per model. */
  setLearningRate(lr: number | readonly number[]): void;
}

/** Everything a GraphModel is built from; src/nn/classifier.ts makes one from a forward pass. */
export interface ModelDefinition {
  /** Name for errors and files (e.g. 'FullyConnectedNeuralNet'). */
  name: string;
  /**
   * A population (default 1): this many models of one architecture stacked along a model axis in every tensor
   * (model k's block of each is the k-th of `models` equal blocks), trained together by one plan, with a loss
   * and a correct count per model.
   */
  models?: number;
  params: TensorInit[];
  state: TensorInit[];
  build(request: ProgramRequest): ProgramGraph;
  /** Check and upload a dataset (the Solver's), one DataSplit per split. */
  uploadData(scope: GpuScope, data: unknown): { train: DataSplit; val: DataSplit };
  /** Check and convert the rows and labels of a direct call (notebook-style `loss(X, y)`) into feeds. */
  directFeeds(
    X: { data: ArrayLike<number>; shape: number[] },
    y?: ArrayLike<number>,
  ): { batch: number; feeds: Record<string, Float32Array | Uint32Array> };
  createUpdateState(
    scope: GpuScope,
    rule: string,
    config: Record<string, number>,
    layout: StoreLayout,
    models: number,
  ): Promise<ModelUpdateState>;
  metadata: Record<string, string>;
  /**
   * How the tensors look from outside when they are stored otherwise (a population's hidden widths rounded up):
   * getParams, setParams and the safetensors files see `shapes`; absent, the stored shapes are the real ones.
   */
  view?: TensorView;
}

/**
 * A model's outside view of its stored tensors: each tensor's real shape by name, and the conversions of one
 * tensor's values between the real and the stored shape (the padding the stored shape adds is zero).
 *   const v = definition.view; v.shapes.W1; // [M, 3072, 50] where the store holds [M, 3072, 52]
 *   v.toStored('W1', real); // Float32Array of the stored size
 */
export interface TensorView {
  shapes: Record<string, number[]>;
  toStored(name: string, real: Float32Array): Float32Array;
  fromStored(name: string, stored: Float32Array): Float32Array;
}
