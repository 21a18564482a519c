// The graph IR: values with shapes, nodes that apply an op, and the builder that checks shapes as nodes are added.
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { Dispatch } from '../gpu/dispatch.ts';

/** What a value is for, which decides who owns its buffer: the model (param, state, data) or the planner. */
export type ValueKind = 'param' | 'state' | 'data' | 'activation' | 'grad';

export interface Value {
  id: number;
  name: string;
  shape: number[];
  kind: ValueKind;
  dtype: 'f32' | 'u32';
  /** Set by the builder: the node that writes this value (undefined for params, state, data). */
  producer?: Node;
  /** No gradient is wanted for it (inputs gathered from data). */
  noGrad?: boolean;
  /** Keep the buffer alive to the end of the plan (an output the host reads after the run). */
  keep?: boolean;
}

/** Buffers handed to an op's encode: its inputs', its outputs', and those it updates in place. */
export interface Bound {
  inputs: TensorRef[];
  outputs: TensorRef[];
  updates: TensorRef[];
}

/**
 * One op: a shape rule, a GPU encode and (for differentiable ops) a backward rule that adds nodes computing
 * the gradients of its inputs from the gradients of its outputs. Each op lives beside its kernel wrapper.
 */
export interface OpDef<A = Record<string, unknown>> {
  name: string;
  /** Output names and shapes for these inputs; throws with the op name and shapes on mismatch. */
  outputs(inputs: Value[], attrs: A): { name: string; shape: number[]; dtype?: 'f32' | 'u32' }[];
  encode(scope: GpuScope, bound: Bound, node: Node<A>): Promise<Dispatch[]>;
  /** Gradients of the inputs (null where none flows), given the gradients of the outputs. */
  backward?(g: Graph, node: Node<A>, gradOutputs: (Value | null)[]): (Value | null)[];
}

export interface Node<A = Record<string, unknown>> {
  id: number;
  op: OpDef<A>;
  inputs: Value[];
  outputs: Value[];
  /** Values this node rewrites in place (running statistics, a gradient it adds to). */
  updates: Value[];
  attrs: A;
}

/**
 * Whether a gradient is wanted for `v` (params and activations derived from them; not gathered data).
 *   needsGrad(W1);     // true
 *   needsGrad(xBatch); // false: data
 */
export const needsGrad = (v: Value): boolean => !v.noGrad && (v.kind === 'param' || v.kind === 'activation');

/**
 * Elements of a shape (1 for the scalar shape []).
 *   sizeOf([50, 100]); // 5000
 *   sizeOf([]);        // 1
 */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A graph under construction; `apply` adds a node and returns its outputs.
 *   const g = new Graph(); const x = g.value('X', [50, 3072], 'data');
 *   const [h] = g.apply(affineOp, [x, W1, b1]);
 */
export class Graph {
  values: Value[] = [];
  nodes: Node<never>[] = [];

  value(name: string, shape: number[], kind: ValueKind, dtype: 'f32' | 'u32' = 'f32'): Value {
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`graph: value ${name} has a bad shape [${shape.join(',')}]`);
    const v: Value = { id: this.values.length, name, shape: [...shape], kind, dtype };
    this.values.push(v);
    return v;
  }

  apply<A>(op: OpDef<A>, inputs: Value[], attrs: A = {} as A, updates: Value[] = [], kind: ValueKind = 'activation'): Value[] {
    const node: Node<A> = { id: this.nodes.length, op, inputs, outputs: [], updates, attrs };
    node.outputs = op.outputs(inputs, attrs).map((o) => {
      const v = this.value(o.name, o.shape, kind, o.dtype ?? 'f32');
      v.producer = node as Node;
      return v;
    });
    this.nodes.push(node as Node<never>);
    return node.outputs;
  }
}

/**
 * Throw unless `shape` equals `want` (-1 matches anything), naming the op and argument.
 *   expectShape('affine', 'w', w.shape, [d, -1]);
 *   expectShape('affine', 'b', [3], [4]); // Error: affine: b has shape [3], expected [4]
 */
export function expectShape(op: string, arg: string, shape: readonly number[], want: readonly number[]): void {
  if (shape.length !== want.length || shape.some((d, i) => want[i] !== -1 && d !== want[i])) {
    throw new Error(`${op}: ${arg} has shape [${shape.join(',')}], expected [${want.map((d) => (d === -1 ? '*' : d)).join(',')}]`);
  }
}
