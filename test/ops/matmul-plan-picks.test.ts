// The matmul plan each adapter class picks (kernel, workgroup size, K splits, grid) and the rows' eligibility, worked by hand: host code, no device.
import { expect, test } from 'vitest';
import { isCpuAdapter } from '../../src/gpu/probes.ts';
import { planMatmul } from '../../src/ops/matmul-plan.ts';
import { block8vec4Eligible } from '../../src/ops/matmul-variants.ts';
import { nvidiaAdapter as gpuAdapter, swiftshaderAdapter as cpuAdapter } from '../helpers/adapters.ts';

const show = (a: typeof gpuAdapter, m: number, n: number, k: number, transA = false, transB = false) => {
  const q = planMatmul(a, { m, n, k, transA, transB });
  return `${q.variant} wg=${q.wg} splits=${q.splits} kchunk=${q.kchunk}`;
};

test('CPU adapters get the 8x8 kernel, GPUs vec4 when aligned (tiled when large), and split-K where the output is small', () => {
  expect(isCpuAdapter(cpuAdapter)).toBe(true);
  expect(isCpuAdapter(gpuAdapter)).toBe(false);
  const gpuForward = show(gpuAdapter, 50, 100, 3072);
  expect(gpuForward).toMatch(/^vec4 wg=64 splits=(\d+)/);
  expect(Number(/splits=(\d+)/.exec(gpuForward)![1])).toBeGreaterThan(1);
  // large products on GPUs take the workgroup-memory tiled kernel (e2e/kernels/matmul-tiled.spec.ts checks it)
  expect(show(gpuAdapter, 4096, 4096, 4096)).toBe('tile128 wg=256 splits=1 kchunk=4096');
  expect(show(gpuAdapter, 7, 13, 5)).toMatch(/^block8 wg=64 splits=1/);
  expect(show(gpuAdapter, 3072, 100, 50, true, false)).toMatch(/^vec4 wg=64/);
  expect(show(cpuAdapter, 50, 100, 3072)).toMatch(/^block8vec4 wg=16 splits=3 kchunk=1024/);
  expect(show(cpuAdapter, 512, 512, 512)).toBe('block8vec4 wg=16 splits=1 kchunk=512');
  expect(show(cpuAdapter, 7, 13, 5)).toMatch(/^block8 wg=16 splits=1/);
  expect(() => planMatmul(gpuAdapter, { m: 7, n: 13, k: 5, variant: 'vec4' })).toThrow('vec4 kernel needs');
  expect(() => planMatmul(cpuAdapter, { m: 7, n: 13, k: 5, variant: 'block8vec4' })).toThrow('block8vec4 kernel needs');
  // aligned operands on a CPU adapter: block8vec4, one grid over every batch's blocks (z = the splits alone);
  // 20 x 7 x 7 blocks of 8 = 980 in 62 workgroups of 16, K whole (enough workgroups already)
  const cpuAligned = planMatmul(cpuAdapter, { m: 50, n: 52, k: 3072, batches: 20 });
  expect(`${cpuAligned.variant} splits=${cpuAligned.splits} grid=${cpuAligned.workgroups.join('x')}`).toBe(
    'block8vec4 splits=1 grid=62x1x1',
  );
  // GPUs too: the batched product packs its blocks over the batches (e2e/kernels/matmul-batched.spec.ts)
  expect(planMatmul(gpuAdapter, { m: 50, n: 52, k: 3072, batches: 20 }).variant).toBe('block8vec4');
  expect([
    block8vec4Eligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, batchA: 0, batchB: 3072 * 52 }),
    block8vec4Eligible({ m: 50, n: 50, k: 3072, lda: 3072, ldb: 50 }),
    block8vec4Eligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, batchB: 3072 * 52 + 2 }),
    block8vec4Eligible({ m: 3072, n: 52, k: 50, transA: true, lda: 1040, ldb: 1040, batchA: 0, batchB: 52 }),
    block8vec4Eligible({ m: 12, n: 12, k: 12, transA: true, transB: true, lda: 12, ldb: 12 }),
  ]).toEqual([true, false, false, true, false]);
});
