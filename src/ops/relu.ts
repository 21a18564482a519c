// ReLU: shape rule, GPU encode of forward and backward (shaders/relu.wgsl), and the host-array form.
import reluWgsl from '../../shaders/relu.wgsl?raw';
import { createBindGroup, getKernel } from '../gpu/kernel.ts';
import { gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope } from '../gpu/buffers.ts';

/**
 * Record ReLU forward `y = max(0, x)` over `n` elements.
 *   const d = await createReluForward(scope, { x, y, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export async function createReluForward(scope: GpuScope, a: { x: GPUBuffer; y: GPUBuffer; n: number }): Promise<Dispatch> {
  const kernel = await getKernel(scope.ctx, { name: 'relu', source: reluWgsl, entryPoint: 'forward' });
  const params = scope.createUniformBuffer(kernel, 'params', { n: a.n });
  return {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { x: a.x, y: a.y, params }),
    workgroups: gridFor(a.n, kernel.workgroupSize[0]),
    label: `relu.forward n=${a.n}`,
  };
}

/**
 * Record ReLU backward `dx = dout · [x > 0]` over `n` elements.
 *   const d = await createReluBackward(scope, { x, dout, dx, n: 4096 });
 *   await runDispatches(gpu, [d]);
 */
export async function createReluBackward(
  scope: GpuScope, a: { x: GPUBuffer; dout: GPUBuffer; dx: GPUBuffer; n: number },
): Promise<Dispatch> {
  const kernel = await getKernel(scope.ctx, { name: 'relu', source: reluWgsl, entryPoint: 'backward' });
  const params = scope.createUniformBuffer(kernel, 'params', { n: a.n });
  return {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { x: a.x, dout: a.dout, y: a.dx, params }),
    workgroups: gridFor(a.n, kernel.workgroupSize[0]),
    label: `relu.backward n=${a.n}`,
  };
}
