// The GPUs' choice of batchnorm backward layout by aspect ratio (src/ops/batchnorm-backward-shapes.ts), worked by hand.
import { describe, expect, it } from 'vitest';
import { planBnBackwardLayout } from '../../src/ops/batchnorm-backward-shapes.ts';
import { nvidiaAdapter, swiftshaderAdapter } from '../helpers/adapters.ts';

const h200 = nvidiaAdapter;
const swiftshader = swiftshaderAdapter;

describe('planBnBackwardLayout', () => {
  it('keeps the chunk kernels on CPU adapters and for small arrays', () => {
    expect(planBnBackwardLayout(swiftshader, 1024, 65536)).toBeNull();
    expect(planBnBackwardLayout(h200, 100, 500)).toBeNull();
    expect(planBnBackwardLayout(h200, 1023, 1024)).toBeNull(); // under 2^20 elements
  });

  it('fuses where the batch fits in registers (32 rows a row-lane), else splits the rows over ~4096 workgroups of sums', () => {
    // wide: 8 columns x 32 row-lanes x 32 rows = 1024 rows; 4 columns hold 2048
    expect(planBnBackwardLayout(h200, 1024, 65536)).toEqual({ kind: 'fused', cols: 8 });
    expect(planBnBackwardLayout(h200, 2048, 1024)).toEqual({ kind: 'fused', cols: 4 });
    // 4096x1024: 32 column tiles of 32 want ceil(4096 / 32) = 128 splits, capped at n / 64 = 64 (64 rows a split)
    expect(planBnBackwardLayout(h200, 4096, 1024)).toEqual({ kind: 'split', splits: 64 });
    // tall: 65536x1024 -> 128 splits of 512 rows; 16384x4096 -> 128 column tiles -> 32 splits
    expect(planBnBackwardLayout(h200, 65536, 1024)).toEqual({ kind: 'split', splits: 128 });
    expect(planBnBackwardLayout(h200, 16384, 4096)).toEqual({ kind: 'split', splits: 32 });
    // very tall and narrow: one column tile, 4096 splits
    expect(planBnBackwardLayout(h200, 1 << 20, 7)).toEqual({ kind: 'split', splits: 4096 });
  });
});
