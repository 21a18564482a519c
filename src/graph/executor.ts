// Compiles a graph into a static dispatch list with buffers and bind groups made once, in node order.
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import type { Graph, Value } from './graph.ts';
import { planBuffers, type BufferPlan } from './planner.ts';

export interface CompiledGraph {
  dispatches: Dispatch[];
  plan: BufferPlan;
  /** The buffer holding each value (model-owned ones as given, planned ones from the slots). */
  bufferOf(v: Value): TensorRef;
}

/**
 * Plan buffers, create them in `scope`, and encode every node once into dispatches, in the order the nodes were
 * added (a topological order by construction). The nodes are encoded concurrently (each encode mostly awaits its
 * pipelines, and the device compiles them side by side); the dispatch list keeps node order, and every encode has
 * settled before an error is thrown (so none creates buffers in a scope its caller is destroying).
 *   const c = await compileGraph(scope, g, new Map([[W1, w1Buffer]]));
 *   encodeDispatches(pass, c.dispatches);
 */
export async function compileGraph(scope: GpuScope, g: Graph, external: Map<Value, TensorRef>): Promise<CompiledGraph> {
  const plan = planBuffers(g, new Set(external.keys()));
  const slots = plan.slotBytes.map((bytes, i) => scope.createTensorBuffer(bytes, `slot ${i}`));
  const bufferOf = (v: Value): TensorRef => {
    const ext = external.get(v);
    if (ext) return ext;
    const slot = plan.slotOf.get(v.id);
    if (slot === undefined) throw new Error(`graph: value ${v.name} (${v.kind}) has no buffer: the model must bind it`);
    return slots[slot]!;
  };
  const encoded = await Promise.allSettled(
    g.nodes.map(async (node) => {
      const bound = { inputs: node.inputs.map(bufferOf), outputs: node.outputs.map(bufferOf), updates: node.updates.map(bufferOf) };
      try {
        return await node.op.encode(scope, bound, node);
      } catch (e) {
        const shapes = node.inputs.map((v) => `${v.name}[${v.shape.join(',')}]`).join(', ');
        throw new Error(`graph: encoding ${node.op.name}(${shapes}) failed: ${(e as Error).message}`);
      }
    }),
  );
  const failed = encoded.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const dispatches = encoded.flatMap((r) => (r as PromiseFulfilledResult<Dispatch[]>).value);
  return { dispatches, plan, bufferOf };
}
