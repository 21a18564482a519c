// Elementwise add out = a + b (shaders/add.wgsl): the residual connection, and how autodiff sums the gradients of a value used twice.
import addWgsl from '../../shaders/add.wgsl?raw';
import { createBindGroup, getKernel, scalarVariant } from '../gpu/kernel.ts';
import { gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { expectShape, sizeOf, type OpDef } from '../graph/graph.ts';
import { assertBuffer, assertCount } from './op-checks.ts';

const wg = 64;
const perInvocation = 4;
const addScalarWgsl = scalarVariant(addWgsl, 'shaders/add.wgsl');

/**
 * Record out = a + b over `n` f32 (a and b may be the same buffer; out must be neither).
 *   const d = await createAdd(scope, { a: x, b: r, out, n: 50 * 100 });
 *   await runDispatches(gpu, [d]);
 */
export async function createAdd(scope: GpuScope, a: { a: TensorRef; b: TensorRef; out: TensorRef; n: number }): Promise<Dispatch> {
  const op = `add n=${a.n}`;
  assertCount(op, 'n', a.n);
  for (const [name, buf] of [
    ['a', a.a],
    ['b', a.b],
    ['out', a.out],
  ] as const)
    assertBuffer(op, name, buf, a.n);
  const vec4 = a.n % 4 === 0;
  const kernel = await getKernel(scope.ctx, { name: 'add', source: vec4 ? addWgsl : addScalarWgsl, constants: { WG: wg } });
  const count = vec4 ? a.n / 4 : a.n;
  const params = scope.createUniformBuffer(kernel, 'params', { count }, `${op} params`);
  return {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { a: a.a, b: a.b, out: a.out, params }),
    workgroups: gridFor(count, wg * perInvocation),
    label: op,
  };
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** out = a + b for two values of one shape; the gradient flows to both unchanged. */
export const addOp: OpDef = {
  name: 'add',
  outputs([a, b]) {
    expectShape('add', 'b', b!.shape, a!.shape);
    return [{ name: `(${a!.name} + ${b!.name})`, shape: [...a!.shape] }];
  },
  async encode(scope, { inputs: [a, b], outputs: [out] }, node) {
    return [await createAdd(scope, { a: a!, b: b!, out: out!, n: sizeOf(node.inputs[0]!.shape) })];
  },
  backward(_g, _node, [dout]) {
    return [dout!, dout!];
  },
};
