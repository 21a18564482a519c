// Compiles a graph into a static dispatch list with buffers and bind groups made once, in node order.
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import type { Graph, Node, Value } from './graph.ts';
import { planBuffers, type BufferPlan } from './planner.ts';

export interface CompiledGraph {
  dispatches: Dispatch[];
  plan: BufferPlan;
  /** The buffer holding each value (model-owned ones as given, planned ones from the slots). */
  bufferOf(v: Value): TensorRef;
  /**
   * The dispatch list again with some values bound elsewhere (a multi-step submit's per-step feeds, loss and
   * hyperparameters): the nodes that touch one of them are encoded anew (in `scope`), the others keep their dispatches.
   */
  rebind(scope: GpuScope, overrides: ReadonlyMap<Value, TensorRef>): Promise<Dispatch[]>;
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
  const perNode = await encodeNodes(scope, g.nodes, bufferOf);
  const rebind = async (into: GpuScope, overrides: ReadonlyMap<Value, TensorRef>): Promise<Dispatch[]> => {
    const touches = (n: Node) => [n.inputs, n.outputs, n.updates].some((list) => list.some((v) => overrides.has(v)));
    const chosen = g.nodes.filter(touches);
    const again = await encodeNodes(into, chosen, (v) => overrides.get(v) ?? bufferOf(v));
    return g.nodes.flatMap((n, i) => (touches(n) ? again[chosen.indexOf(n)]! : perNode[i]!));
  };
  return { dispatches: perNode.flat(), plan, bufferOf, rebind };
}

/** Encode `nodes` concurrently, one dispatch list each in node order; every encode settles before an error is thrown. */
async function encodeNodes(scope: GpuScope, nodes: readonly Node[], bufferOf: (v: Value) => TensorRef): Promise<Dispatch[][]> {
  const encoded = await Promise.allSettled(
    nodes.map(async (node) => {
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
  return encoded.map((r) => (r as PromiseFulfilledResult<Dispatch[]>).value);
}
