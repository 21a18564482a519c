// Host checkpoints of a compiled model: its stores (params, state, update-rule slots) copied in one submit and read back by mapAsync.
import type { GpuContext } from '../gpu/device.ts';
import type { StoreLayout } from './store.ts';

/** What a model needs to go on from a point of its training on any device: every store's values and the update rule's host state. */
export interface ModelCheckpoint {
  /** Training steps the model had begun when the copy was made (the Solver's iteration). */
  iteration: number;
  /** The parameter store and the state store (running statistics), byte for byte. */
  params: Float32Array;
  state: Float32Array;
  /** The update rule: its name, its config as the next step would use it (Adam's `t`, the decayed learning rate), each slot store. */
  update: { rule: string; config: Record<string, number>; slots: Record<string, Float32Array> } | null;
  /** Bytes read back, and milliseconds from the copies' submit to the host arrays (includes waiting for the steps queued before). */
  bytes: number;
  readMs: number;
}

/** One GPU buffer to copy whole into a checkpoint, by name. */
export interface CheckpointSource {
  name: string;
  buffer: GPUBuffer;
}

/**
 * Copy `sources` into one staging buffer in one command buffer (queued behind the work already submitted, so
 * nothing waits here) and resolve to a host copy of each once the GPU has done them.
 *   const read = submitCheckpointCopies(gpu, [{ name: 'params', buffer: params.buffer }]);
 *   const { params } = await read; // Float32Array
 */
export function submitCheckpointCopies(gpu: GpuContext, sources: CheckpointSource[]): Promise<Record<string, Float32Array>> {
  const { device } = gpu;
  let total = 0;
  const at = sources.map((s) => { const o = total; total += s.buffer.size; return o; });
  const staging = device.createBuffer({ label: 'checkpoint staging', size: Math.max(total, 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder({ label: 'checkpoint copies' });
  sources.forEach((s, i) => enc.copyBufferToBuffer(s.buffer, 0, staging, at[i]!, s.buffer.size));
  device.queue.submit([enc.finish()]);
  return staging.mapAsync(GPUMapMode.READ).then(() => {
    const all = staging.getMappedRange();
    const out = Object.fromEntries(sources.map((s, i) => [s.name, new Float32Array(all.slice(at[i]!, at[i]! + s.buffer.size))]));
    staging.destroy();
    return out;
  }, (e: unknown) => {
    staging.destroy();
    throw e;
  });
}

/**
 * The tensors of one store by name, cut from its flat host copy (a checkpoint's `params` or `state`).
 *   const named = unflattenStore(layout, ckpt.params);
 *   named.W1; // Float32Array of W1's values
 */
export function unflattenStore(layout: StoreLayout, flat: Float32Array): Record<string, Float32Array> {
  if (flat.byteLength !== layout.bytes) throw new Error(`checkpoint: a store copy of ${flat.byteLength} bytes does not fit a layout of ${layout.bytes}`);
  return Object.fromEntries(layout.names.map((n) => {
    const e = layout.entries[n]!;
    return [n, flat.slice(e.offset / 4, e.offset / 4 + e.count)];
  }));
}

/**
 * Throw unless `c` is a checkpoint of stores laid out as `params` and `state` (a checkpoint from another model is refused).
 *   assertCheckpointFits(ckpt, model.params.layout, model.state.layout, 'rebuildOn');
 *   // Error: rebuildOn: the checkpoint's params are 1024 bytes, this model's 2048
 */
export function assertCheckpointFits(c: ModelCheckpoint, params: StoreLayout, state: StoreLayout, where: string): void {
  if (!(c?.params instanceof Float32Array) || !(c.state instanceof Float32Array)) throw new Error(`${where}: not a ModelCheckpoint`);
  if (c.params.byteLength !== params.bytes) throw new Error(`${where}: the checkpoint's params are ${c.params.byteLength} bytes, this model's ${params.bytes}`);
  if (c.state.byteLength !== state.bytes) throw new Error(`${where}: the checkpoint's state is ${c.state.byteLength} bytes, this model's ${state.bytes}`);
  for (const [slot, data] of Object.entries(c.update?.slots ?? {})) {
    if (data.byteLength !== params.bytes) throw new Error(`${where}: the checkpoint's ${slot} slot is ${data.byteLength} bytes, this model's params ${params.bytes}`);
  }
}
