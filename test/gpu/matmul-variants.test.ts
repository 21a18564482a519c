// The matmul variant table against its WGSL (entry points and bindings by reflection) and the plans it gives, worked by hand.
import { describe, expect, it } from 'vitest';
import { linkWgsl } from '../../src/gpu/kernel.ts';
import { reflectKernel } from '../../src/gpu/reflection.ts';
import { planMatmul } from '../../src/ops/matmul-plan.ts';
import { matmulReduce, matmulVariantOrder, matmulVariants, type MatmulVariant } from '../../src/ops/matmul-variants.ts';

const nvidia = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100', runtime: 'node' as const };
const swiftshader = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: 'SwiftShader Device (Subzero)',
  runtime: 'browser' as const,
};
const names = Object.keys(matmulVariants) as MatmulVariant[];
const refused = (f: () => unknown) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('matmul variant table', () => {
  it('binds, for each row and store mode, exactly the names its entry point declares (A, B, C, bias, params)', () => {
    const modes = names.flatMap((name) => {
      const row = matmulVariants[name];
      const store = row.vec4Store;
      return [
        { row, entryPoint: row.entryPoint, c: row.bindings.c },
        ...(store ? [{ row, entryPoint: store.entryPoint, c: store.c }] : []),
      ];
    });
    expect(modes.map((x) => x.entryPoint).sort()).toEqual(['main', 'main_v8', 'main_v8c', 'main_v8s', 'main_vec4']);
    for (const { row, entryPoint, c } of modes) {
      const r = reflectKernel({ name: row.module, source: linkWgsl(...row.sources), entryPoint });
      expect(Object.keys(r.bindings).sort(), `${row.name} ${entryPoint}`).toEqual(
        [row.bindings.a, row.bindings.b, c, 'bias', 'params'].sort(),
      );
    }
    const reduce = reflectKernel({
      name: matmulReduce.module,
      source: linkWgsl(...matmulReduce.sources),
      entryPoint: matmulReduce.entryPoint,
    });
    expect(Object.keys(reduce.bindings).sort()).toEqual(['bias', 'c', 'params', 'part']);
  });

  it('says why a row cannot run a product, and block8 runs any', () => {
    const caps = { cpu: true, subgroupQuads: false };
    const ragged = { m: 7, n: 13, k: 5 };
    expect(matmulVariants.block8.eligible(ragged, caps)).toBe(true);
    expect(matmulVariants.vec4.eligible(ragged, caps)).toContain('the vec4 kernel needs');
    expect(matmulVariants.block8vec4.eligible(ragged, caps)).toContain('the block8vec4 kernel needs');
    // a population's first layer: block8vec4 and block8sg can run it (the latter with quads); vec4 reads unbatched operands only
    const population = { m: 50, n: 52, k: 3072, lda: 3072, ldc: 1040, batches: 20, batchA: 0, batchB: 3072 * 52, batchC: 52 };
    expect(matmulVariants.vec4.eligible(population, caps)).toContain('dense unbatched');
    expect(matmulVariants.block8vec4.eligible(population, caps)).toBe(true);
    expect(matmulVariants.block8sg.eligible(population, caps)).toContain('subgroupQuads');
    expect(matmulVariants.block8sg.eligible(population, { cpu: true, subgroupQuads: true })).toBe(true);
    // A bound in 50·4 bytes: not whole vec4s
    expect(matmulVariants.block8vec4.eligible({ m: 4, n: 4, k: 4, bytesA: 200 }, caps)).toContain('whole vec4s');
  });

  it('walks the rows in the adapter class order; a forced row that cannot run throws its reason', () => {
    expect(matmulVariantOrder(true)).toEqual(['block8sg', 'block8vec4', 'block8']);
    expect(matmulVariantOrder(false)).toEqual(['vec4', 'block8']);
    expect(planMatmul(swiftshader, { m: 7, n: 13, k: 5 }).variant).toBe('block8');
    expect(planMatmul(swiftshader, { m: 50, n: 100, k: 3072 }).variant).toBe('block8vec4');
    // 20 models x 52 columns = 130 blocks of 8 in 33 quads (2 idle lanes of 132): block8sg with quads
    expect(planMatmul(swiftshader, { m: 50, n: 52, k: 3072, batches: 20, subgroupQuads: true }).variant).toBe('block8sg');
    // one 100-wide product: 13 blocks in 4 quads idle 3 lanes of 16 (> 1/8): passed over
    expect(planMatmul(swiftshader, { m: 50, n: 100, k: 3072, subgroupQuads: true }).variant).toBe('block8vec4');
    expect(planMatmul(nvidia, { m: 50, n: 100, k: 3072, subgroupQuads: true }).variant).toBe('vec4');
    expect(refused(() => planMatmul(nvidia, { m: 7, n: 13, k: 5, variant: 'vec4' }))).toBe(
      'matmul 7x13x5: ' + (matmulVariants.vec4.eligible({ m: 7, n: 13, k: 5 }, { cpu: false, subgroupQuads: false }) as string),
    );
    expect(refused(() => planMatmul(nvidia, { m: 8, n: 8, k: 8, variant: 'block8sg', workgroupSize: 4 }))).toContain('subgroupQuads');
    expect(refused(() => planMatmul(nvidia, { m: 8, n: 8, k: 8, variant: 'block8sg', workgroupSize: 6, subgroupQuads: true }))).toBe(
      'matmul 8x8x8: block8sg needs a workgroup size that is a multiple of 4, got 6',
    );
    expect(refused(() => planMatmul(nvidia, { m: 8, n: 8, k: 8, variant: 'block9' as MatmulVariant }))).toBe(
      "matmul 8x8x8: no matmul variant 'block9' (one of block8sg, block8vec4, vec4, block8)",
    );
  });

  it('gives the GPU plans worked by hand (512 target workgroups of 64, K chunks of at least 128), each one forcible', () => {
    const show = (p: ReturnType<typeof planMatmul>) =>
      `${p.variant} wg=${p.wg} splits=${p.splits} kchunk=${p.kchunk} ${p.workgroups.join('x')}`;
    // 13 x 25 blocks of 4 in 6 workgroups: min(3072 / 128, ceil(512 / 6)) = 24 splits of 128
    const forward = planMatmul(nvidia, { m: 50, n: 100, k: 3072 });
    expect(show(forward)).toBe('vec4 wg=64 splits=24 kchunk=128 6x1x24');
    // 7 x 7 blocks of 8, one workgroup per model: min(24, ceil(512 / 20)) = 24 splits, z = 24 x 20
    const population = { m: 50, n: 52, k: 3072, lda: 3072, ldc: 1040, batches: 20, batchA: 0, batchB: 3072 * 52, batchC: 52 };
    expect(show(planMatmul(nvidia, population))).toBe('block8 wg=64 splits=24 kchunk=128 1x1x480');
    // 65537 blocks of 4x4 at one invocation a workgroup: 65535 x 2
    expect(show(planMatmul(nvidia, { m: 4, n: 4 * 65537, k: 4, workgroupSize: 1 }))).toBe('vec4 wg=1 splits=1 kchunk=4 65535x2x1');
    // the GPU plan forced on a CPU adapter is the same launch
    const forced = planMatmul(swiftshader, {
      m: 50,
      n: 100,
      k: 3072,
      variant: forward.variant,
      workgroupSize: forward.wg,
      splits: forward.splits,
    });
    expect(forced).toEqual(forward);
  });
});
