// Host checkpoints of a compiled model: its stores (params, state, update-rule slots) copied in one submit and read back by mapAsync.
import type { GpuContext } from '../gpu/device.ts';
import type { NamedTensor } from './safetensors.ts';
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

/** The buffers of a checkpoint: the stores, and the update rule's host state with its slot stores (null: no rule yet). */
export interface CheckpointSources {
  params: GPUBuffer;
  state: GPUBuffer;
  update: { rule: string; config: Record<string, number>; slots: Record<string, GPUBuffer> } | null;
}

/**
 * Copy the stores into one staging buffer in one command buffer (queued behind the work already submitted, so
 * nothing waits here) and resolve to the checkpoint once the GPU has done them; the rule's config is copied now.
 *   const ckpt = await submitCheckpoint(gpu, 120, { params: params.buffer, state: state.buffer, update: null });
 *   ckpt.params; // Float32Array, the whole parameter store
 */
export function submitCheckpoint(gpu: GpuContext, iteration: number, src: CheckpointSources): Promise<ModelCheckpoint> {
  const { device } = gpu;
  const slotNames = Object.keys(src.update?.slots ?? {});
  const buffers = [src.params, src.state, ...slotNames.map((n) => src.update!.slots[n]!)];
  const update = src.update && { rule: src.update.rule, config: { ...src.update.config } };
  let total = 0;
  const at = buffers.map((b) => {
    const o = total;
    total += b.size;
    return o;
  });
  const t0 = performance.now();
  const staging = device.createBuffer({
    label: 'checkpoint staging',
    size: total,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder({ label: 'checkpoint copies' });
  buffers.forEach((b, i) => enc.copyBufferToBuffer(b, 0, staging, at[i]!, b.size));
  device.queue.submit([enc.finish()]);
  return staging.mapAsync(GPUMapMode.READ).then(
    () => {
      const all = staging.getMappedRange();
      const [params, state, ...slots] = buffers.map((b, i) => new Float32Array(all.slice(at[i]!, at[i]! + b.size)));
      staging.destroy();
      return {
        iteration,
        params: params!,
        state: state!,
        bytes: total,
        readMs: performance.now() - t0,
        update: update && { ...update, slots: Object.fromEntries(slotNames.map((n, i) => [n, slots[i]!])) },
      };
    },
    (e: unknown) => {
      staging.destroy();
      throw e;
    },
  );
}

/**
 * The tensors of one store by name, cut from its flat host copy (a checkpoint's `params` or `state`).
 *   const named = unflattenStore(layout, ckpt.params);
 *   named.W1; // Float32Array of W1's values
 */
export function unflattenStore(layout: StoreLayout, flat: Float32Array): Record<string, Float32Array> {
  if (flat.byteLength !== layout.bytes)
    throw new Error(`checkpoint: a store copy of ${flat.byteLength} bytes does not fit a layout of ${layout.bytes}`);
  return Object.fromEntries(
    layout.names.map((n) => {
      const e = layout.entries[n]!;
      return [n, flat.slice(e.offset / 4, e.offset / 4 + e.count)];
    }),
  );
}

/**
 * Every parameter and state tensor of a checkpoint by name, with its shape (what getParams answers after a loss).
 *   const named = checkpointTensors(ckpt, model.params.layout, model.state.layout);
 *   named.W1.shape; // [3072, 100]
 */
export function checkpointTensors(c: ModelCheckpoint, params: StoreLayout, state: StoreLayout): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [layout, flat] of [
    [params, c.params],
    [state, c.state],
  ] as const) {
    for (const [name, data] of Object.entries(unflattenStore(layout, flat))) out[name] = { data, shape: [...layout.entries[name]!.shape] };
  }
  return out;
}

/**
 * Throw unless `c` is a checkpoint of stores laid out as `params` and `state` (a checkpoint from another model is refused).
 *   assertCheckpointFits(ckpt, model.params.layout, model.state.layout, 'rebuildOn');
 *   // Error: rebuildOn: the checkpoint's params are 1024 bytes, this model's 2048
 */
export function assertCheckpointFits(c: ModelCheckpoint, params: StoreLayout, state: StoreLayout, where: string): void {
  if (!(c?.params instanceof Float32Array) || !(c.state instanceof Float32Array)) throw new Error(`${where}: not a ModelCheckpoint`);
  if (c.params.byteLength !== params.bytes)
    throw new Error(`${where}: the checkpoint's params are ${c.params.byteLength} bytes, this model's ${params.bytes}`);
  if (c.state.byteLength !== state.bytes)
    throw new Error(`${where}: the checkpoint's state is ${c.state.byteLength} bytes, this model's ${state.bytes}`);
  for (const [slot, data] of Object.entries(c.update?.slots ?? {})) {
    if (data.byteLength !== params.bytes)
      throw new Error(`${where}: the checkpoint's ${slot} slot is ${data.byteLength} bytes, this model's params ${params.bytes}`);
  }
}
