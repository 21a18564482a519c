// Reverse-mode autodiff over the graph: walk nodes in reverse, let each op's backward rule add gradient nodes.
import type { Graph, Value } from './graph.ts';

/**
 * Add the backward graph of `loss` and return the gradient value of each of `wrt` (micrograd's walk).
 *   const grads = addBackward(g, dscoresSeed, [W1, b1]);
 *   grads.get(W1); // a Value holding dL/dW1
 */
export function addBackward(g: Graph, seeds: Map<Value, Value>, wrt: Value[]): Map<Value, Value> {
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
      if (grads.has(input)) {
        throw new Error(`autodiff: ${input.name} receives gradients from two nodes; fan-out needs an add op, which this engine does not have yet`);
      }
      grads.set(input, gi);
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
