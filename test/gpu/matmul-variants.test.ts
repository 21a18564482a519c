// The matmul variant table against its WGSL (entry points and bindings by reflection) and the plans it gives, worked by hand.
import { describe, expect, it } from 'vitest';
import { linkWgsl } from '../../src/gpu/kernel.ts';
import { reflectKernel } from '../../src/gpu/reflection.ts';
import { planMatmul } from '../../src/ops/matmul-plan.ts';
import { matmulReduce, matmulVariantOrder, matmulVariants, type MatmulVariant } from '../../src/ops/matmul-variants.ts';
import { nvidiaAdapter, swiftshaderAdapter } from '../helpers/adapters.ts';

const nvidia = nvidiaAdapter;
const swiftshader = swiftshaderAdapter;
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
    expect(modes.map((x) => x.entryPoint).sort()).toEqual([
      'main',
      'main_tiled',
      'main_tiled',
      'main_tiled',
      'main_v8',
      'main_v8c',
      'main_v8s',
      'main_vec4',
    ]);
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
    expect(matmulVariantOrder(false)).toEqual(['tile128k16', 'tile128', 'tile64', 'vec4', 'block8vec4', 'block8']);
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
      "matmul 8x8x8: no matmul variant 'block9' (one of block8sg, block8vec4, vec4, block8, tile128, tile64, tile128k16)",
    );
  });

  it('gives the GPU plans worked by hand (512 target workgroups of 64, 2048 for a batched product, K chunks of at least 128), each one forcible', () => {
    const show = (p: ReturnType<typeof planMatmul>) =>
      `${p.variant} wg=${p.wg} splits=${p.splits} kchunk=${p.kchunk} ${p.workgroups.join('x')}`;
    // 13 x 25 blocks of 4 in 6 workgroups: min(3072 / 128, ceil(512 / 6)) = 24 splits of 128
    const forward = planMatmul(nvidia, { m: 50, n: 100, k: 3072 });
    expect(show(forward)).toBe('vec4 wg=64 splits=24 kchunk=128 6x1x24');
    // a population's first layer: 7 x 7 blocks of 8 per model packed over the models into workgroups of 64, K split
    // towards 2048 workgroups (gpuBatchedTargetGroups): 20 models are 980 blocks in 16 workgroups, min(24, 128) = 24 splits;
    // 100: 77 workgroups, min(24, 27) = 24; 400: 307, ceil(2048 / 307) = 7 splits of 440; 1000: 766, 3 splits of 1024
    const population = (M: number) => ({
      m: 50,
      n: 52,
      k: 3072,
      lda: 3072,
      ldc: 52 * M,
      batches: M,
      batchA: 0,
      batchB: 3072 * 52,
      batchC: 52,
    });
    expect(show(planMatmul(nvidia, population(20)))).toBe('block8vec4 wg=64 splits=24 kchunk=128 16x1x24');
    expect(show(planMatmul(nvidia, population(100)))).toBe('block8vec4 wg=64 splits=24 kchunk=128 77x1x24');
    expect(show(planMatmul(nvidia, population(400)))).toBe('block8vec4 wg=64 splits=7 kchunk=440 307x1x7');
    expect(show(planMatmul(nvidia, population(1000)))).toBe('block8vec4 wg=64 splits=3 kchunk=1024 766x1x3');
    // a ragged batched product (n % 4 != 0) falls back to block8, a workgroup per model: 20 x 2 = 40 per split, 24 splits
    expect(show(planMatmul(nvidia, { ...population(20), n: 50, ldc: 1000, batchB: 3072 * 50, batchC: 50 }))).toBe(
      'block8 wg=64 splits=24 kchunk=128 1x1x480',
    );
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

describe('the tiled rows (shaders/matmul-tiled.wgsl)', () => {
  const show = (p: ReturnType<typeof planMatmul>) =>
    `${p.variant} wg=${p.wg} splits=${p.splits} kchunk=${p.kchunk} ${p.workgroups.join('x')}`;
  const layouts = [
    { transA: false, transB: false },
    { transA: true, transB: false },
    { transA: false, transB: true },
  ];

  it('are picked by GPU plans at large products in every layout, tile128k16 only where 32 KB of workgroup memory is granted', () => {
    for (const l of layouts) {
      // 32 x 32 tiles of 128: 1024 workgroups of 256, no split
      expect(show(planMatmul(nvidia, { m: 4096, n: 4096, k: 4096, ...l }))).toBe('tile128 wg=256 splits=1 kchunk=4096 1024x1x1');
      expect(planMatmul(nvidia, { m: 8192, n: 8192, k: 8192, ...l, workgroupStorage: 49152 }).variant).toBe('tile128k16');
      // 1024²: 256 tiles of 64 and 2 K splits of 512 (multiples of the K tile, 16)
      expect(show(planMatmul(nvidia, { m: 1024, n: 1024, k: 1024, ...l }))).toBe('tile64 wg=64 splits=2 kchunk=512 256x1x2');
    }
    // A·Bᵀ takes tile64 from 256² (the register kernels read B across its rows there)
    expect(planMatmul(nvidia, { m: 256, n: 256, k: 256, transB: true }).variant).toBe('tile64');
    expect(planMatmul(nvidia, { m: 256, n: 256, k: 256 }).variant).toBe('vec4');
    // the training shapes and a population's 50x52 blocks stay on the register kernels (tiles would idle most lanes)
    expect(planMatmul(nvidia, { m: 50, n: 3072, k: 100, transB: true }).variant).toBe('vec4');
    expect(planMatmul(nvidia, { m: 50, n: 52, k: 3072, batches: 1000, batchB: 3072 * 52, batchC: 52, ldc: 52000 }).variant).toBe(
      'block8vec4',
    );
    // CPU adapters never walk the tiled rows
    expect(planMatmul(swiftshader, { m: 4096, n: 4096, k: 4096, transB: true }).variant).toBe('block8vec4');
  });

  it('run at their own workgroup size, any shape, and say what they lack', () => {
    const caps = { cpu: true, subgroupQuads: false };
    for (const v of ['tile64', 'tile128'] as const)
      expect(matmulVariants[v].eligible({ m: 7, n: 13, k: 5, transA: true, transB: true }, caps)).toBe(true);
    expect(matmulVariants.tile128k16.eligible({ m: 7, n: 13, k: 5 }, caps)).toBe(
      'the tile128k16 kernel needs 32768 bytes of workgroup memory, the device grants 16384 (maxComputeWorkgroupStorageSize)',
    );
    expect(matmulVariants.tile128k16.eligible({ m: 7, n: 13, k: 5 }, { ...caps, workgroupStorage: 32768 })).toBe(true);
    expect(planMatmul(swiftshader, { m: 7, n: 13, k: 5, variant: 'tile128' }).wg).toBe(256);
    expect(refused(() => planMatmul(swiftshader, { m: 7, n: 13, k: 5, variant: 'tile64', workgroupSize: 16 }))).toBe(
      'matmul 7x13x5: tile64 is written for workgroups of 64 invocations, got 16',
    );
    // a batched plan: z = splits x batches, K chunks in whole K tiles
    expect(show(planMatmul(nvidia, { m: 37, n: 53, k: 1000, batches: 3, variant: 'tile128k16', workgroupStorage: 32768 }))).toBe(
      'tile128k16 wg=256 splits=7 kchunk=144 1x1x21',
    );
  });
});
