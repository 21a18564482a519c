// Buffer planning by liveness: every planner-owned value gets a buffer, reused once the value's last reader has run.
import { sizeOf, type Graph, type Value } from './graph.ts';

export interface BufferPlan {
  /** Buffer slot for each planner-owned value id. */
  slotOf: Map<number, number>;
  /** Byte size of each slot. */
  slotBytes: number[];
  /** Bytes of all slots together: what the plan allocates for activations and gradients. */
  peakBytes: number;
}

/**
 * Bytes of a value's buffer (at least 4: WebGPU has no empty buffers).
 *   bytesOf(g.value('h', [50, 100], 'activation')); // 20000
 *   bytesOf(g.value('loss', [1], 'activation'));    // 4
 */
export const bytesOf = (v: Value): number => Math.max(4, sizeOf(v.shape) * 4);

/**
 * Whether the planner owns `v`'s buffer: activations and gradients not bound by the model.
 *   plannerOwns(reluOutput, new Set()); // true
 *   plannerOwns(W1, new Set());         // false: a param belongs to the model
 */
export function plannerOwns(v: Value, external: ReadonlySet<Value>): boolean {
  return (v.kind === 'activation' || v.kind === 'grad') && !external.has(v);
}

/**
 * Assign buffer slots to activations and gradients so that values whose lifetimes do not overlap share one.
 * Values of kind param/state/data, and any in `external`, belong to the model and are not planned. A value
 * lives from the node that writes it to its last reader (to the end when `keep`); a node never writes a slot
 * it reads.
 *   const plan = planBuffers(g);
 *   plan.slotBytes.length; // fewer slots than values
 */
export function planBuffers(g: Graph, external: ReadonlySet<Value> = new Set()): BufferPlan {
  const owned = (v: Value) => plannerOwns(v, external);
  const lastUse = new Map<number, number>();
  g.nodes.forEach((node, i) => {
    for (const v of [...node.inputs, ...node.updates]) if (owned(v)) lastUse.set(v.id, i);
  });
  const end = g.nodes.length;
  const slotOf = new Map<number, number>();
  const slotBytes: number[] = [];
  const free: number[] = [];
  const releaseAt = new Map<number, number[]>(); // node index after which slots become free
  g.nodes.forEach((node, i) => {
    for (const v of node.outputs) {
      if (!owned(v)) continue;
      const bytes = bytesOf(v);
      // best fit among free slots; else a new slot
      let best = -1;
      for (let k = 0; k < free.length; k++) {
        const s = free[k]!;
        if (slotBytes[s]! >= bytes && (best < 0 || slotBytes[s]! < slotBytes[free[best]!]!)) best = k;
      }
      let slot: number;
      if (best >= 0) slot = free.splice(best, 1)[0]!;
      else {
        slot = slotBytes.length;
        slotBytes.push(bytes);
      }
      slotOf.set(v.id, slot);
      const last = v.keep ? end : (lastUse.get(v.id) ?? i);
      releaseAt.set(last, [...(releaseAt.get(last) ?? []), slot]);
    }
    // slots whose values were last read by this node are free for the next node's outputs
    free.push(...(releaseAt.get(i) ?? []));
  });
  return { slotOf, slotBytes, peakBytes: slotBytes.reduce((a, b) => a + b, 0) };
}
