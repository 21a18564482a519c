// The tensor part of a compiled model: its parameter, gradient and state stores, the tensors by name (through the model's view), snapshots and safetensors.
import type { GpuContext } from '../gpu/device.ts';
import { readBuffer, type GpuScope } from '../gpu/buffers.ts';
import { unflattenStore } from './checkpoint.ts';
import type { ModelDefinition, TensorView } from './model-definition.ts';
import { decodeSafetensors, type NamedTensor } from './safetensors.ts';
import { createTensorStore, makeStoreLayout, modelRanges, type StoreLayout, type TensorStore } from './store.ts';

/** A tensor to write by name: its values (row-major) and, optionally, the shape they claim. */
export type TensorValues = Record<string, { data: ArrayLike<number>; shape?: number[] }>;

/** A host copy of the parameter and state stores, byte for byte. */
export interface StoreSnapshot {
  params: Float32Array;
  state: Float32Array;
}

/** The stores of a model and everything that reads or writes them by name. */
export interface ModelTensors {
  params: TensorStore;
  grads: TensorStore;
  state: TensorStore;
  /** Every tensor name (parameters, then state) with its shape as getParams gives it. */
  readonly shapes: Record<string, number[]>;
  /** Stored tensors by name (a store read, or a checkpoint cut by name) in the outside view. */
  viewOf(stored: Record<string, Float32Array>): Record<string, NamedTensor>;
  /** Every tensor by name, read from the device. */
  read(gpu: GpuContext): Promise<Record<string, NamedTensor>>;
  /** Check every entry (name, length, shape) first, then write them all; on any mismatch nothing is written. */
  write(values: TensorValues, where?: string): void;
  /** A safetensors file's tensors written as `write` does; a tensor of the model missing from the file is an error unless `partial`. */
  load(bytes: Uint8Array, options?: { partial?: boolean }): void;
  snapshot(gpu: GpuContext): Promise<StoreSnapshot>;
  restore(gpu: GpuContext, snapshot: unknown): Promise<void>;
  /** Where model k's values sit in a snapshot. */
  ranges(models: number, k: number): { params: [number, number][]; state: [number, number][] };
}

/**
 * The stores of `definition` in `scope`: the definition's initial values, or a checkpoint's flat stores when given.
 *   const t = createModelTensors(scope, definition);
 *   t.write({ W1: { data: w1, shape: [3072, 100] } }); // checked whole, then written
 */
export function createModelTensors(
  scope: GpuScope,
  definition: ModelDefinition,
  from?: { params: Float32Array; state: Float32Array },
): ModelTensors {
  const name = definition.name;
  const paramLayout = makeStoreLayout(definition.params);
  const stateLayout = makeStoreLayout(definition.state);
  const init = (list: ModelDefinition['params'], layout: StoreLayout, flat?: Float32Array) =>
    flat ? unflattenStore(layout, flat) : Object.fromEntries(list.filter((t) => t.data).map((t) => [t.name, t.data!]));
  const params = createTensorStore(scope, paramLayout, `${name} params`, init(definition.params, paramLayout, from?.params));
  const grads = createTensorStore(scope, paramLayout, `${name} grads`);
  const state = createTensorStore(scope, stateLayout, `${name} state`, init(definition.state, stateLayout, from?.state));
  const view: TensorView = definition.view ?? identityView(paramLayout, stateLayout);
  const storeOf = (n: string) => (params.has(n) ? params : state.has(n) ? state : null);
  const queue = () => scope.ctx.device.queue;

  const tensors: ModelTensors = {
    params,
    grads,
    state,
    shapes: view.shapes,
    viewOf(stored) {
      return Object.fromEntries(
        Object.entries(stored).map(([n, data]) => [n, { data: view.fromStored(n, data), shape: [...view.shapes[n]!] }]),
      );
    },
    async read(gpu) {
      const stored: Record<string, Float32Array> = {};
      for (const store of [params, state])
        Object.assign(stored, unflattenStore(store.layout, new Float32Array(await readBuffer(gpu, store.buffer))));
      return tensors.viewOf(stored);
    },
    write(values, where = 'setParams') {
      const checked: { store: TensorStore; offset: number; data: Float32Array }[] = [];
      for (const [n, v] of Object.entries(values)) {
        const store = storeOf(n);
        const shape = view.shapes[n];
        if (!store || !shape) throw new Error(`${where}: no tensor named ${n} (have ${Object.keys(view.shapes).join(', ')})`);
        const count = shape.reduce((a, b) => a * b, 1);
        if (v.data.length !== count)
          throw new Error(`${where}: ${n} has ${v.data.length} values, expected ${count} (shape [${shape.join(',')}])`);
        if (v.shape && v.shape.join(',') !== shape.join(','))
          throw new Error(`${where}: ${n} has shape [${v.shape.join(',')}], this ${name} has [${shape.join(',')}]`);
        checked.push({ store, offset: store.layout.entries[n]!.offset, data: view.toStored(n, Float32Array.from(v.data)) });
      }
      for (const c of checked) queue().writeBuffer(c.store.buffer, c.offset, c.data as Float32Array<ArrayBuffer>);
    },
    load(bytes, options = {}) {
      const file = decodeSafetensors(bytes);
      const missing = Object.keys(view.shapes).filter((n) => !Object.hasOwn(file, n));
      if (missing.length && !options.partial)
        throw new Error(
          `loadSafetensors: the file lacks ${missing.join(', ')} of this ${name} (pass { partial: true } to load only what it has)`,
        );
      tensors.write(file, 'loadSafetensors');
    },
    async snapshot(gpu) {
      return {
        params: new Float32Array(await readBuffer(gpu, params.buffer)),
        state: new Float32Array(await readBuffer(gpu, state.buffer)),
      };
    },
    async restore(gpu, snapshot) {
      const s = snapshot as StoreSnapshot;
      if (!(s?.params instanceof Float32Array) || s.params.byteLength !== params.buffer.size || s.state?.byteLength !== state.buffer.size)
        throw new Error(`${name}.restore: not a snapshot of this model`);
      gpu.device.queue.writeBuffer(params.buffer, 0, s.params as Float32Array<ArrayBuffer>);
      gpu.device.queue.writeBuffer(state.buffer, 0, s.state as Float32Array<ArrayBuffer>);
      await gpu.device.queue.onSubmittedWorkDone();
    },
    ranges(models, k) {
      return { params: modelRanges(params.layout, models, k), state: modelRanges(state.layout, models, k) };
    },
  };
  return tensors;
}

/**
 * The view of a model whose stored shapes are its real ones: no conversion.
 *   identityView(params.layout, state.layout).shapes.W1; // the stored [3072, 100]
 *   identityView(params.layout, state.layout).toStored('W1', w); // w itself
 */
export function identityView(...layouts: StoreLayout[]): TensorView {
  const shapes: Record<string, number[]> = {};
  for (const layout of layouts) for (const n of layout.names) shapes[n] = [...layout.entries[n]!.shape];
  return { shapes, toStored: (_n, real) => real, fromStored: (_n, stored) => stored };
}
