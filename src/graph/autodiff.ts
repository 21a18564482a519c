// Reverse-mode autodiff over the graph: walk nodes in reverse, let each op's backward rule add gradient nodes, accumulate fan-out.
import type { Graph, OpDef, Value } from './graph.ts';

export interface BackwardOptions {
  /**
   * The op that adds two gradients of one shape (a value read by several nodes gets the sum of their
   * gradients). The engine knows no op itself: the caller hands it (src/ops/elementwise.ts's `addOp`).
   */
  add: OpDef;
}

/**
 * Add the backward graph seeded by `seeds` (value -> its gradient) and return the gradient value of each of
 * `wrt`. A value used by several nodes (a residual, a shared weight) gets the sum of their gradients, one
 * `add` node per extra use (micrograd's `+=`).
 *   const grads = addBackward(g, new Map([[scores, dscores]]), [W1, b1], { add: addOp });
 *   grads.get(W1); // a Value holding dL/dW1
 */
export function addBackward(g: Graph, seeds: Map<Value, Value>, wrt: Value[], options: BackwardOptions): Map<Value, Value> {
  const grads = new Map<Value, Value>(seeds);
  const forward = [...g.nodes];
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    const gradOutputs = node.outputs.map((o) => grads.get(o) ?? null);
    if (gradOutputs.every((x) => x === null) || !node.op.backward) continue;
    const gradInputs = node.op.backward(g, node, gradOutputs);
    node.inputs.forEach((input, k) => {
      const gi = gradInputs[k];
      if (!gi) return;
      const prev = grads.get(input);
      grads.set(input, prev ? g.apply(options.add, [prev, gi], {}, [], 'grad')[0]! : gi);
    });
  }
  const out = new Map<Value, Value>();
  for (const w of wrt) {
    const gw = grads.get(w);
    if (!gw) throw new Error(`autodiff: no gradient reaches ${w.name}`);
    out.set(w, gw);
  }
  return out;
}
