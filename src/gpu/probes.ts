// Device probes: what kind of adapter this is (software or a real GPU) and how its subgroups are laid out; kernels' plans read them.
import subgroupQuadsWgsl from '../../shaders/subgroup-quads.wgsl?raw';
import { createScope, readBuffer } from './buffers.ts';
import type { AdapterSummary, GpuContext } from './device.ts';
import { createDispatch, runDispatches } from './dispatch.ts';
import { getKernel } from './kernel.ts';

/**
 * True for software adapters (SwiftShader, llvmpipe/lavapipe, WARP), where loads, not flops, set the pace.
 *   isCpuAdapter(gpu.adapter); // true in headless Chromium without a GPU
 *   isCpuAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: '', runtime: 'node' }); // false
 */
export function isCpuAdapter(adapter: AdapterSummary): boolean {
  return /swiftshader|llvmpipe|lavapipe|warp|software|cpu/i.test(
    `${adapter.vendor} ${adapter.architecture} ${adapter.description} ${adapter.device}`,
  );
}

const quadProbes = new WeakMap<GpuContext, Promise<boolean>>();

/**
 * Whether the device forms subgroups as `block8sg` needs them: 4 lanes, invocation i of a workgroup in lane i % 4 of
 * the subgroup of invocations i - i % 4 .. (SwiftShader). Probed once per device (one small dispatch and readback,
 * at the first matmul that could use it); false without the `subgroups` feature or with another subgroup size.
 *   await subgroupQuads(gpu); // true on SwiftShader in Chromium and under Node + Dawn
 */
export function subgroupQuads(ctx: GpuContext): Promise<boolean> {
  if (!ctx.hasSubgroups || ctx.subgroupMinSize !== 4) return Promise.resolve(false);
  let p = quadProbes.get(ctx);
  if (!p) {
    p = probeSubgroupQuads(ctx);
    quadProbes.set(ctx, p);
  }
  return p;
}

async function probeSubgroupQuads(ctx: GpuContext): Promise<boolean> {
  const scope = createScope(ctx);
  try {
    const kernel = await getKernel(ctx, { name: 'subgroup-quads', source: subgroupQuadsWgsl, entryPoint: 'main' });
    const groups = 8;
    const ok = scope.createTensorBuffer(groups * 16 * 4, 'subgroup-quads probe');
    await runDispatches(ctx, [createDispatch(scope, kernel, { ok }, [groups, 1, 1], 'subgroup-quads probe')], 'subgroup-quads probe');
    return new Uint32Array(await readBuffer(ctx, ok)).every((v) => v === 1);
  } finally {
    scope.destroy();
  }
}
