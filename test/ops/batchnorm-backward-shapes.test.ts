// The GPUs' plans of batchnorm's column work, worked by hand: the backward layout by aspect ratio
// (src/ops/batchnorm-backward-shapes.ts) and the column reductions' chunks (planColumnTiling in norm-columns.ts).
import { describe, expect, it } from 'vitest';
import { planBnBackwardLayout } from '../../src/ops/batchnorm-backward-shapes.ts';
import { planColumnTiling } from '../../src/ops/norm-columns.ts';
import { planColumnSumSplits } from '../../src/ops/affine.ts';
import { nvidiaAdapter, swiftshaderAdapter } from '../helpers/adapters.ts';

const h200 = nvidiaAdapter;
const swiftshader = swiftshaderAdapter;

describe('planBnBackwardLayout', () => {
  it('keeps the chunk kernels on CPU adapters and for small one-chunk arrays', () => {
    expect(planBnBackwardLayout(swiftshader, 1024, 65536)).toBeNull();
    expect(planBnBackwardLayout(swiftshader, 1024, 1024)).toBeNull();
    expect(planBnBackwardLayout(h200, 100, 500)).toBeNull();
    expect(planBnBackwardLayout(h200, 511, 2047)).toBeNull(); // one chunk (under 512 rows), under 2^20 elements
  });

  it('gives a GPU batch of several chunks a layout whose grid fills the GPU (the wide nets: issue 23)', () => {
    // [1024]x5 at batch 1024: 8 columns a workgroup would be 128 workgroups; 4 give 256, 16 rows a row-lane
    expect(planBnBackwardLayout(h200, 1024, 1024)).toEqual({ kind: 'fused', cols: 4 });
    expect(planBnBackwardLayout(h200, 1023, 1024)).toEqual({ kind: 'fused', cols: 4 }); // 3 chunks, under 2^20 elements
    // [4096]x3 at batch 4096: only 1 or 2 columns hold 4096 rows; 2 give 2048 workgroups of 32 rows a row-lane
    expect(planBnBackwardLayout(h200, 4096, 4096)).toEqual({ kind: 'fused', cols: 2 });
    // narrow: no width gives 256 workgroups; the most workgroups that hold the batch (1 column: 100 of 4 rows a row-lane)
    expect(planBnBackwardLayout(h200, 1024, 100)).toEqual({ kind: 'fused', cols: 1 });
  });

  it('fuses where the batch fits in registers (32 rows a row-lane), else splits the rows over ~4096 workgroups of sums', () => {
    // wide: 8 columns x 32 row-lanes x 32 rows = 1024 rows; 4 columns hold 2048, 2 hold 4096 (512 workgroups at d = 1024)
    expect(planBnBackwardLayout(h200, 1024, 65536)).toEqual({ kind: 'fused', cols: 8 });
    expect(planBnBackwardLayout(h200, 2048, 1024)).toEqual({ kind: 'fused', cols: 4 });
    expect(planBnBackwardLayout(h200, 4096, 1024)).toEqual({ kind: 'fused', cols: 2 });
    // 8192x1024 (only 1 column holds it, 1024 workgroups); 8193 rows: 32 column tiles want 128 splits, capped at n / 64
    expect(planBnBackwardLayout(h200, 8192, 1024)).toEqual({ kind: 'fused', cols: 1 });
    expect(planBnBackwardLayout(h200, 8193, 1024)).toEqual({ kind: 'split', splits: 128 });
    // tall: 65536x1024 -> 128 splits of 512 rows; 16384x4096 -> 128 column tiles -> 32 splits
    expect(planBnBackwardLayout(h200, 65536, 1024)).toEqual({ kind: 'split', splits: 128 });
    expect(planBnBackwardLayout(h200, 16384, 4096)).toEqual({ kind: 'split', splits: 32 });
    // very tall and narrow: one column tile, 4096 splits
    expect(planBnBackwardLayout(h200, 1 << 20, 7)).toEqual({ kind: 'split', splits: 4096 });
  });
});

describe('planColumnTiling', () => {
  it('keeps one chunk under 512 rows on every adapter; GPUs cut a batch of several into 64-row chunks, CPU adapters into 256', () => {
    expect(planColumnTiling(h200, 511, 1024).chunks).toBe(1);
    expect(planColumnTiling(h200, 1024, 1024)).toEqual({ cols: 32, rows: 8, colTiles: 32, chunks: 16, chunkRows: 64 });
    expect(planColumnTiling(swiftshader, 1024, 1024)).toEqual({ cols: 32, rows: 8, colTiles: 32, chunks: 4, chunkRows: 256 });
    // 4096x4096: 128 column tiles want 8 chunks for 1024 workgroups, on either adapter
    expect(planColumnTiling(h200, 4096, 4096).chunks).toBe(8);
    // forced: 100 rows a chunk at least
    expect(planColumnTiling(swiftshader, 1031, 37, 100)).toEqual({ cols: 32, rows: 8, colTiles: 2, chunks: 10, chunkRows: 104 });
    expect(() => planColumnTiling(h200, 1024, 1024, 0)).toThrow('minChunkRows must be a whole number >= 1, got 0');
  });
});

describe('planColumnSumSplits (the bias gradient of the affine layers in front of batchnorm)', () => {
  it('one pass on CPU adapters, for few rows or many columns; on GPUs ~1024 workgroups of at least 64 rows', () => {
    expect(planColumnSumSplits(swiftshader, 1024, 1024)).toBe(1);
    expect(planColumnSumSplits(h200, 50, 100)).toBe(1);
    expect(planColumnSumSplits(h200, 1024, 65536)).toBe(1); // 1024 workgroups of columns already
    // 1024x1024: 16 column groups of 64 -> 16 splits of 64 rows (256 workgroups; one pass would be 16 over 1024 rows)
    expect(planColumnSumSplits(h200, 1024, 1024)).toBe(16);
    // 4096x4096: 64 column groups want 16 splits (1024 workgroups) of 256 rows
    expect(planColumnSumSplits(h200, 4096, 4096)).toBe(16);
    // the head's db: 1024x10 is one column group, 16 splits of 64 rows
    expect(planColumnSumSplits(h200, 1024, 10)).toBe(16);
  });
});
