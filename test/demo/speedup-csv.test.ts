// The speedup CLI's CSV rows: a row per size and per pass, the same columns on each, the copy roof beside every pass.
import { expect, test } from 'vitest';
import { speedupCsvRows, type SpeedupRow } from '../../demo/experiments/speedup.ts';

const row: SpeedupRow = {
  n: 4,
  d: 3,
  timer: 'timestamp-query',
  graphMs: 0.5,
  alternativeMs: 0.1,
  speedup: 5,
  dxDifference: 1e-7,
  cpuGraphMs: 0.02,
  cpuAlternativeMs: 0.01,
  cpuSpeedup: 2,
  passTimer: 'timestamp-query',
  graphPasses: [
    { label: 'dbeta+dgamma', ms: 0.001, bytes: 120, gbps: 0.12 },
    { label: 'dxhat', ms: 0.002, bytes: 108, gbps: 0.054 },
  ],
  alternativePasses: [{ label: 'columns: sums + dx', ms: 0.001, bytes: 192, gbps: 0.192 }],
};
const copy = { copyBytes: 4 << 20, copyGbps: 0.96, copyBufferGbps: 1.5, copyTimer: 'timestamp-query' };

test('one size row, then one row per pass of each variant, all with the same columns', () => {
  const rows = speedupCsvRows([row], copy);
  expect(rows.map((r) => [r.kind, r.variant, r.label])).toEqual([
    ['size', null, null],
    ['pass', 'graph', 'dbeta+dgamma'],
    ['pass', 'graph', 'dxhat'],
    ['pass', 'alternative', 'columns: sums + dx'],
  ]);
  const cols = Object.keys(rows[0]!).sort();
  for (const r of rows) expect(Object.keys(r).sort()).toEqual(cols);
  expect(rows[0]).toMatchObject({ graphMs: 0.5, speedup: 5, copyGbps: 0.96, copyBufferGbps: 1.5 });
  expect(rows[3]).toMatchObject({ n: 4, d: 3, bytes: 192, ms: 0.001, copyGbps: 0.96 });
  expect(rows[3]!.roofFraction).toBeCloseTo(0.192 / 0.96, 12); // 0.2 of the roof
  expect(rows[2]!.roofFraction).toBeCloseTo(0.054 / 0.96, 12);
});

test('without a copy roof the roof columns are blank', () => {
  const rows = speedupCsvRows([row]);
  expect(rows[1]).toMatchObject({ copyGbps: null, roofFraction: null });
});
