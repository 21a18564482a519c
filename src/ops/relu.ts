// ReLU: shape rule, GPU encode of forward and backward (shaders/relu.wgsl), and the host-array form.
import reluWgsl from '../../shaders/relu.wgsl?raw';
import { createBindGroup, getKernel, type Kernel, scalarVariant } from '../gpu/kernel.ts';
import { gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';

/** Workgroup size, and about how many elements (of the kernel's element type) each invocation takes. */
const wg = 64;
const perInvocation = 4;

/** relu.wgsl with f32 elements, for n not a multiple of 4 (WGSL has no type overrides). */
const reluScalarWgsl = scalarVariant(reluWgsl, 'shaders/relu.wgsl');

/** The kernel for `n` f32 (vec4 elements when n is a multiple of 4, else f32), its length in those elements and the grid. */
async function reluKernel(
  scope: GpuScope,
  entryPoint: 'forward' | 'backward',
  n: number,
): Promise<{ kernel: Kernel; count: number; workgroups: [number, number, number] }> {
  const vec4 = n % 4 === 0;
  const kernel = await getKernel(scope.ctx, { name: 'relu', source: vec4 ? reluWgsl : reluScalarWgsl, entryPoint, constants: { WG: wg } });
  const count = vec4 ? n / 4 : n;
  return { kernel, count, workgroups: gridFor(count, wg * perInvocation) };
}

/**
 * Record ReLU forward `y = max(0, x)` over `n` elements.
 *   const d = await createReluForward(scope, { x, y, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export async function createReluForward(scope: GpuScope, a: { x: TensorRef; y: TensorRef; n: number }): Promise<Dispatch> {
  const { kernel, count, workgroups } = await reluKernel(scope, 'forward', a.n);
  const params = scope.createUniformBuffer(kernel, 'params', { count });
  return {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { x: a.x, y: a.y, params }),
    workgroups,
    label: `relu.forward n=${a.n}`,
  };
}

/**
 * Record ReLU backward `dx = dout · [x > 0]` over `n` elements.
 *   const d = await createReluBackward(scope, { x, dout, dx, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export async function createReluBackward(
  scope: GpuScope,
  a: { x: TensorRef; dout: TensorRef; dx: TensorRef; n: number },
): Promise<Dispatch> {
  const { kernel, count, workgroups } = await reluKernel(scope, 'backward', a.n);
  const params = scope.createUniformBuffer(kernel, 'params', { count });
  return {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { x: a.x, dout: a.dout, y: a.dx, params }),
    workgroups,
    label: `relu.backward n=${a.n}`,
  };
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

export const reluOp: OpDef = {
  name: 'relu',
  outputs([x]) {
    return [{ name: `relu(${x!.name})`, shape: [...x!.shape] }];
  },
  async encode(scope, { inputs: [x], outputs: [y] }, node) {
    return [await createReluForward(scope, { x: x!, y: y!, n: sizeOf(node.inputs[0]!.shape) })];
  },
  backward(g, node, [dout]) {
    return [g.apply(reluGradOp, [node.inputs[0]!, dout!], {}, [], 'grad')[0]!];
  },
};

export const reluGradOp: OpDef = {
  name: 'relu_grad',
  outputs([x]) {
    return [{ name: `d(${x!.name})`, shape: [...x!.shape] }];
  },
  async encode(scope, { inputs: [x, dout], outputs: [dx] }, node) {
    return [await createReluBackward(scope, { x: x!, dout: dout!, dx: dx!, n: sizeOf(node.inputs[0]!.shape) })];
  },
};
