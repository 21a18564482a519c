// Flat tensor stores: many named tensors in one GPU buffer, each at a 256-byte-aligned offset, so one dispatch can cover them all.
import type { GpuScope } from '../gpu/buffers.ts';
import { sizeOf } from './graph.ts';

/** Where each named tensor sits in a store: byte offset, element count, shape; `bytes` is the whole store. */
export interface StoreLayout {
  names: string[];
  entries: Record<string, { offset: number; count: number; shape: number[] }>;
  bytes: number;
}

/** WebGPU's default (and the most any adapter asks) minStorageBufferOffsetAlignment. */
export const storeAlignment = 256;

/**
 * Lay named tensors out one after another, each starting on a 256-byte boundary, the total padded to one too.
 *   const layout = makeStoreLayout([{ name: 'W1', shape: [3, 5] }, { name: 'b1', shape: [5] }]);
 *   layout.entries.b1.offset; // 256
 */
export function makeStoreLayout(tensors: readonly { name: string; shape: readonly number[] }[]): StoreLayout {
  const entries: StoreLayout['entries'] = {};
  let at = 0;
  for (const t of tensors) {
    if (entries[t.name]) throw new Error(`store: tensor name ${t.name} appears twice`);
    const count = sizeOf(t.shape);
    entries[t.name] = { offset: at, count, shape: [...t.shape] };
    at += Math.ceil((count * 4) / storeAlignment) * storeAlignment;
  }
  return { names: tensors.map((t) => t.name), entries, bytes: Math.max(at, storeAlignment) };
}

/** A store on the GPU: its layout, its buffer, and a binding per tensor. */
export interface TensorStore {
  layout: StoreLayout;
  buffer: GPUBuffer;
  /** The range of tensor `name`; an unknown name is an error listing the names. */
  ref(name: string): GPUBufferBinding;
  has(name: string): boolean;
}

/**
 * Create a store in `scope`, zero-filled (a new buffer is zeros: nothing is uploaded for it), with the tensors of
 * `init` written in, one queue write each; the tensors it leaves out stay zero (or are written on the GPU later).
 *   const params = createTensorStore(scope, layout, 'params', { W1: w1, b1: b1 });
 *   params.ref('W1'); // { buffer, offset: 0, size: 60 }
 */
export function createTensorStore(
  scope: GpuScope,
  layout: StoreLayout,
  label: string,
  init: Record<string, ArrayLike<number>> = {},
): TensorStore {
  for (const [name, values] of Object.entries(init)) {
    const e = layout.entries[name];
    if (!e) throw new Error(`store ${label}: no tensor named ${name}`);
    if (values.length !== e.count)
      throw new Error(`store ${label}: ${name} has ${values.length} values, its shape [${e.shape.join(',')}] needs ${e.count}`);
  }
  const buffer = scope.createTensorBuffer(layout.bytes, label);
  for (const [name, values] of Object.entries(init)) {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    scope.ctx.device.queue.writeBuffer(buffer, layout.entries[name]!.offset, data as Float32Array<ArrayBuffer>);
  }
  return {
    layout,
    buffer,
    has: (name) => Object.hasOwn(layout.entries, name),
    ref(name) {
      const e = layout.entries[name];
      if (!e) throw new Error(`store ${label}: no tensor named ${name} (has ${layout.names.join(', ')})`);
      return { buffer, offset: e.offset, size: e.count * 4 };
    },
  };
}

/**
 * The f32 ranges [start, end) of model k's blocks in a store whose every tensor stacks `models` equal blocks
 * (a population's; one model owns everything).
 *   modelRanges(makeStoreLayout([{ name: 'b1', shape: [6] }]), 3, 1); // [[2, 4]]
 *   modelRanges(layout, 1, 0); // one range per tensor: each whole tensor
 */
export function modelRanges(layout: StoreLayout, models: number, k: number): [number, number][] {
  return layout.names.map((name) => {
    const e = layout.entries[name]!;
    const per = e.count / models;
    return [e.offset / 4 + k * per, e.offset / 4 + (k + 1) * per];
  });
}
