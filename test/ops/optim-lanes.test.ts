// How many elements each invocation of an update launch takes (src/ops/optim-dispatch.ts perInvocation), per adapter class.
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/device.ts';
import { gpuUpdateTargetGroups, perInvocation, wg } from '../../src/ops/optim-dispatch.ts';
import { nvidiaAdapter, swiftshaderAdapter } from '../helpers/adapters.ts';

const gpu = { adapter: nvidiaAdapter } as GpuContext;
const cpu = { adapter: swiftshaderAdapter } as GpuContext;

describe('perInvocation', () => {
  it('takes 128 a lane on CPU adapters whatever the size', () => {
    expect(perInvocation(cpu, 1)).toBe(128);
    expect(perInvocation(cpu, 44_395_000)).toBe(128);
  });

  it('takes 8 a lane on GPUs where that still gives 1024 workgroups, fewer (down to 1) for a smaller store', () => {
    const full = wg * gpuUpdateTargetGroups; // 65536 elements: 1024 workgroups at one a lane
    // 100 [50]x7 nets (17.76 M f32, 4.44 M vec4) and 20 (888 000 vec4): 8 a lane, 8 671 and 1 734 workgroups
    expect(perInvocation(gpu, 4_439_500)).toBe(8);
    expect(perInvocation(gpu, 887_900)).toBe(8);
    expect(perInvocation(gpu, 8 * full)).toBe(8);
    expect(perInvocation(gpu, 8 * full - 1)).toBe(7);
    // the seed's [100]x5 net, 349 710 f32 = 87 428 vec4: 1 a lane, ceil(87428 / 64) = 1 367 workgroups (at 8: 171)
    expect(perInvocation(gpu, 87_428)).toBe(1);
    expect(perInvocation(gpu, 3 * full + 5)).toBe(3);
    expect(perInvocation(gpu, 1)).toBe(1);
  });
});
