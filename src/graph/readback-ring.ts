// A ring of staging buffers for per-step results (the loss slots): copied at the end of a step's command buffer, read later.
import type { GpuContext } from '../gpu/device.ts';

export interface ReadbackSlot {
  buf: GPUBuffer;
  busy: Promise<unknown> | null;
}

/**
 * A ring of `size` staging buffers; `take(bytes)` waits until the next one is free (its last read done).
 *   const ring = createReadbackRing(gpu, 4);
 *   const slot = await ring.take(lossBuf.size); enc.copyBufferToBuffer(lossBuf, 0, slot.buf, 0, lossBuf.size);
 */
export function createReadbackRing(gpu: GpuContext, size = 4) {
  const slots: (ReadbackSlot | null)[] = Array.from({ length: size }, () => null);
  let pos = 0;
  /**
   * `readSums` for several steps copied into one slot: step j's `size` bytes at j·stride; one mapAsync for all.
   *   const [l0, l1] = await ring.readSteps(slot, { steps: 2, stride: 256, size: 8 }); // each a Float64Array of 1
   */
  const readSteps = (slot: ReadbackSlot, r: { steps: number; stride: number; size: number }, groups = 1): Promise<Float64Array[]> => {
    const bytes = (r.steps - 1) * r.stride + r.size;
    const read = slot.buf.mapAsync(GPUMapMode.READ, 0, bytes).then(() => {
      const mapped = slot.buf.getMappedRange(0, bytes);
      const out = Array.from({ length: r.steps }, (_, j) => {
        const values = new Float32Array(mapped, j * r.stride, r.size / 4);
        const per = values.length / groups;
        const sums = new Float64Array(groups);
        for (let k = 0; k < groups; k++) for (let i = 0; i < per; i++) sums[k]! += values[k * per + i]!;
        return sums;
      });
      slot.buf.unmap();
      return out;
    });
    slot.busy = read;
    return read;
  };
  return {
    /** The next slot with at least `bytes`, after its previous read has finished (all slots are made at the first take, so steady steps allocate nothing). */
    async take(bytes: number): Promise<ReadbackSlot> {
      const i = pos++ % size;
      for (let k = 0; k < size; k++) {
        const s = slots[k];
        if (s && s.buf.size >= bytes) continue;
        if (s?.busy) await s.busy.catch(() => 0);
        s?.buf.destroy();
        slots[k] = {
          buf: gpu.device.createBuffer({ label: `readback ${k}`, size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
          busy: null,
        };
      }
      const slot = slots[i]!;
      if (slot.busy) await slot.busy.catch(() => 0);
      return slot;
    },
    /**
     * Map the slot after its submit and sum its f32 values in `groups` equal runs (the loss slots of each model
     * add up to its loss; one group for one model).
     */
    async readSums(slot: ReadbackSlot, bytes: number, groups = 1): Promise<Float64Array> {
      return (await readSteps(slot, { steps: 1, stride: bytes, size: bytes }, groups))[0]!;
    },
    readSteps,
    /** Wait for every read in flight (errors ignored: they reached their callers). */
    async settle(): Promise<void> {
      await Promise.all(slots.map((s) => s?.busy?.catch(() => 0)));
    },
    destroy(): void {
      for (const s of slots) s?.buf.destroy();
    },
  };
}
