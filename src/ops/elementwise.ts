// The elementwise family: each op is a table row of WGSL (its forward, and its derivative as a row of its own)
// run by one kernel (shaders/elementwise.wgsl); ReLU, the add and GELU are rows.
import elementwiseWgsl from '../../shaders/elementwise.wgsl?raw';
import { getKernel, linkWgsl, scalarVariant } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { expectShape, sizeOf, type OpDef } from '../graph/graph.ts';
import { assertBuffers, assertCount } from './op-checks.ts';

/** One row: the body of `fn apply(i: u32) -> V` (V is vec4f or f32) over `a[i]` and, for a binary row, `b[i]`. */
export interface ElementwiseRow {
  name: string;
  body: string;
}

/** The tanh-form GELU's constants: √(2/π) and the cubic's 0.044715 (PyTorch's `approximate='tanh'`). */
const geluTanh = `let x = a[i]; let k = 0.7978845608028654; let c = 0.044715;
  // tanh's argument clamped to ±10 (tanh(10) is 1 in f32), so no implementation's exp overflows
  let t = tanh(clamp(k * (x + c * x * x * x), V(-10.0), V(10.0)));`;

/** The rows: forward ops and the derivatives (a = the forward input x, b = dout). */
export const elementwiseRows = {
  add: { name: 'add', body: 'return a[i] + b[i];' },
  relu: { name: 'relu', body: 'return max(a[i], V(0.0));' },
  // dout where x > 0, else 0 (0 at x = 0, as cs231n)
  reluGrad: { name: 'relu_grad', body: 'return select(V(0.0), b[i], a[i] > V(0.0));' },
  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  gelu: { name: 'gelu', body: `${geluTanh}\n  return 0.5 * x * (1.0 + t);` },
  // dout · (0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²))
  geluGrad: {
    name: 'gelu_grad',
    body: `${geluTanh}\n  return b[i] * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * c * x * x));`,
  },
} satisfies Record<string, ElementwiseRow>;

/** Workgroup size, and about how many elements (of the kernel's element type) each invocation takes. */
const wg = 64;
const perInvocation = 4;

/** The row's kernel source, vec4 or f32 elements. */
function rowSource(row: ElementwiseRow, vec4: boolean): string {
  const source = linkWgsl(elementwiseWgsl, `fn apply(i: u32) -> V {\n  ${row.body}\n}`);
  return vec4 ? source : scalarVariant(source, `shaders/elementwise.wgsl (${row.name})`);
}

/**
 * Record out = row(a, b) over `n` f32 (b only for a binary row; out must be neither a nor b).
 *   const d = await createElementwise(scope, elementwiseRows.gelu, { a: x, out: y, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export async function createElementwise(
  scope: GpuScope,
  row: ElementwiseRow,
  a: { a: TensorRef; b?: TensorRef; out: TensorRef; n: number },
): Promise<Dispatch> {
  const op = `${row.name} n=${a.n}`;
  assertCount(op, 'n', a.n);
  const vec4 = a.n % 4 === 0;
  const kernel = await getKernel(scope.ctx, { name: row.name, source: rowSource(row, vec4), constants: { WG: wg } });
  const binary = kernel.bindings.b !== undefined;
  if (binary !== (a.b !== undefined)) throw new Error(`${op}: ${binary ? 'a binary row needs b' : 'a unary row takes no b'}`);
  const inputs: Record<string, TensorRef> = a.b ? { a: a.a, b: a.b } : { a: a.a };
  assertBuffers(op, { ...inputs, out: a.out }, a.n);
  const count = vec4 ? a.n / 4 : a.n;
  const params = scope.createUniformBuffer(kernel, 'params', { count }, `${op} params`);
  return createDispatch(scope, kernel, { ...inputs, out: a.out, params }, gridFor(count, wg * perInvocation), op);
}

/**
 * The graph ops of a unary row and its derivative row: y = f(x), dx = f'(x)·dout (the derivative reads x).
 *   const [geluOp, geluGradOp] = makeUnaryOps(elementwiseRows.gelu, elementwiseRows.geluGrad);
 *   const [y] = g.apply(geluOp, [x]);
 */
export function makeUnaryOps(forward: ElementwiseRow, derivative: ElementwiseRow): [OpDef, OpDef] {
  const gradOp: OpDef = {
    name: derivative.name,
    outputs([x]) {
      return [{ name: `d(${x!.name})`, shape: [...x!.shape] }];
    },
    async encode(scope, { inputs: [x, dout], outputs: [dx] }, node) {
      return [await createElementwise(scope, derivative, { a: x!, b: dout!, out: dx!, n: sizeOf(node.inputs[0]!.shape) })];
    },
  };
  const op: OpDef = {
    name: forward.name,
    outputs([x]) {
      return [{ name: `${forward.name}(${x!.name})`, shape: [...x!.shape] }];
    },
    async encode(scope, { inputs: [x], outputs: [y] }, node) {
      return [await createElementwise(scope, forward, { a: x!, out: y!, n: sizeOf(node.inputs[0]!.shape) })];
    },
    backward(g, node, [dout]) {
      return [g.apply(gradOp, [node.inputs[0]!, dout!], {}, [], 'grad')[0]!];
    },
  };
  return [op, gradOp];
}

/** y = max(0, x) and its gradient dx = dout·[x > 0]. */
export const [reluOp, reluGradOp] = makeUnaryOps(elementwiseRows.relu, elementwiseRows.reluGrad);

/** y = GELU(x) (tanh form) and its gradient. */
export const [geluOp, geluGradOp] = makeUnaryOps(elementwiseRows.gelu, elementwiseRows.geluGrad);

/** The hidden layers' activation of an FC net, by its option name. */
export const activationOps = { relu: reluOp, gelu: geluOp } as const;

/** out = a + b for two values of one shape; the gradient flows to both unchanged (autodiff sums fan-out with it). */
export const addOp: OpDef = {
  name: 'add',
  outputs([a, b]) {
    expectShape('add', 'b', b!.shape, a!.shape);
    return [{ name: `(${a!.name} + ${b!.name})`, shape: [...a!.shape] }];
  },
  async encode(scope, { inputs: [a, b], outputs: [out] }, node) {
    return [await createElementwise(scope, elementwiseRows.add, { a: a!, b: b!, out: out!, n: sizeOf(node.inputs[0]!.shape) })];
  },
  backward(_g, _node, [dout]) {
    return [dout!, dout!];
  },
};

/**
 * Record out = a + b over `n` f32 (a and b may be the same buffer; out must be neither).
 *   const d = await createAdd(scope, { a: x, b: r, out, n: 50 * 100 });
 *   await runDispatches(gpu, [d]);
 */
export function createAdd(scope: GpuScope, a: { a: TensorRef; b: TensorRef; out: TensorRef; n: number }): Promise<Dispatch> {
  return createElementwise(scope, elementwiseRows.add, a);
}

/**
 * Record ReLU forward `y = max(0, x)` over `n` elements.
 *   const d = await createReluForward(scope, { x, y, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export function createReluForward(scope: GpuScope, a: { x: TensorRef; y: TensorRef; n: number }): Promise<Dispatch> {
  return createElementwise(scope, elementwiseRows.relu, { a: a.x, out: a.y, n: a.n });
}

/**
 * Record ReLU backward `dx = dout · [x > 0]` over `n` elements.
 *   const d = await createReluBackward(scope, { x, dout, dx, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export function createReluBackward(scope: GpuScope, a: { x: TensorRef; dout: TensorRef; dx: TensorRef; n: number }): Promise<Dispatch> {
  return createElementwise(scope, elementwiseRows.reluGrad, { a: a.x, b: a.dout, out: a.dx, n: a.n });
}
