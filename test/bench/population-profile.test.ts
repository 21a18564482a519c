// The population profile's reading of a matmul launch label (bench/sections/population-profile.ts makeMatmulLoop) and its table.
import { describe, expect, it } from 'vitest';
import { formatPopulationProfiles, makeMatmulLoop } from '../../bench/sections/population-profile.ts';

describe('makeMatmulLoop', () => {
  it("reads the K loop each invocation runs and its block from the matmul's label", () => {
    // 3072 in 24 splits of 128; 3 splits of 1024; no split: all of K
    expect(makeMatmulLoop('matmul 20x 50x52x3072 (A·B) block8vec4 (vec4 stores) wg=64 splitK=24 +bias')).toEqual({ kLoop: 128, block: 8 });
    expect(makeMatmulLoop('matmul 1000x 50x52x3072 (A·B) block8vec4 (vec4 stores) wg=64 splitK=3')).toEqual({ kLoop: 1024, block: 8 });
    expect(makeMatmulLoop('matmul 20x 52x10x50 (Aᵀ·B) block8 wg=64')).toEqual({ kLoop: 50, block: 8 });
    // 3068 in 7 splits: chunks of ceil(3068 / 7) = 439, rounded up to a multiple of 4: 440
    expect(makeMatmulLoop('matmul 7x 50x52x3068 (A·B) block8vec4 wg=64 splitK=7 +bias')).toEqual({ kLoop: 440, block: 8 });
    // a tiled row rounds its chunk to its K tile (16) and owns a 64 square per workgroup
    expect(makeMatmulLoop('matmul 1024x1024x1000 (A·B) tile64 wg=64 splitK=3')).toEqual({ kLoop: 336, block: 64 });
  });

  it('is null for launches that are not a matmul main pass', () => {
    expect(makeMatmulLoop('matmul 20x 50x52x3072 (A·B) reduce 24 splits +bias')).toBeNull();
    expect(makeMatmulLoop('colsum 50x1040')).toBeNull();
  });
});

describe('formatPopulationProfiles', () => {
  it('prints one line per launch under a summary', () => {
    const text = formatPopulationProfiles([
      {
        models: 2,
        plan: 'gpu',
        timer: null,
        totalWorkgroups: 3,
        totalBoundBytes: 2048,
        totalMs: null,
        dispatches: [
          {
            label: 'colsum 50x104',
            kernel: 'colsum:main',
            workgroups: [3, 1, 1],
            workgroupSize: 64,
            invocations: 192,
            boundBytes: 2048,
            ruleBytes: null,
            kLoop: null,
            block: null,
            ms: null,
          },
        ],
      },
    ]);
    expect(text).toContain('2 [50]x7 batchnorm nets');
    expect(text).toContain('the plan of NVIDIA H200; 1 dispatches, 3 workgroups, 0.0 MiB bound (counts only)');
    expect(text).toMatch(/0 +colsum:main +3x1x1 +64 +192 +2\.0 +- +- +- +colsum 50x104/);
  });
});
