// Buffer planning by liveness: every planner-owned value gets a buffer, reused once the value's last reader has run.
import { sizeOf, type Graph, type Value } from './graph.ts';

export interface BufferPlan {
  /** Buffer slot for each planner-owned value id. */
  slotOf: Map<number, number>;
  /** Byte size of each slot. */
  slotBytes: number[];
  /** Bytes if every value had its own buffer, for comparison. */
  naiveBytes: number;
}

const bytesOf = (v: Value): number => Math.max(4, sizeOf(v.shape) * 4);

/**
 * Assign buffer slots to activations and gradients so that values whose lifetimes do not overlap share one.
 * Values of kind param/state/data, and any in `external`, belong to the model and are not planned. A node never writes a slot it reads.
 *   const plan = planBuffers(g);
 *   plan.slotBytes.length; // fewer slots than values
 */
export function planBuffers(g: Graph, external: ReadonlySet<Value> = new Set()): BufferPlan {
  const owned = (v: Value) => (v.kind === 'activation' || v.kind === 'grad') && !external.has(v);
  const lastUse = new Map<number, number>();
  g.nodes.forEach((node, i) => {
    for (const v of [...node.inputs, ...node.updates]) if (owned(v)) lastUse.set(v.id, i);
  });
  const end = g.nodes.length;
  const slotOf = new Map<number, number>();
  const slotBytes: number[] = [];
  const free: number[] = [];
  const releaseAt = new Map<number, number[]>(); // node index after which slots become free
  let naiveBytes = 0;
  g.nodes.forEach((node, i) => {
    for (const v of node.outputs) {
      if (!owned(v)) continue;
      const bytes = bytesOf(v);
      naiveBytes += bytes;
      // best fit among free slots; else a new slot
      let best = -1;
      for (let k = 0; k < free.length; k++) {
        const s = free[k]!;
        if (slotBytes[s]! >= bytes && (best < 0 || slotBytes[s]! < slotBytes[free[best]!]!)) best = k;
      }
      let slot: number;
      if (best >= 0) slot = free.splice(best, 1)[0]!;
      else { slot = slotBytes.length; slotBytes.push(bytes); }
      slotOf.set(v.id, slot);
      const last = v.keep ? end : (lastUse.get(v.id) ?? i);
      releaseAt.set(last, [...(releaseAt.get(last) ?? []), slot]);
    }
    // slots whose values were last read by this node are free for the next node's outputs
    free.push(...(releaseAt.get(i) ?? []));
  });
  return { slotOf, slotBytes, naiveBytes };
}
