// The backward speedup panel: both variants timed on the GPU at the seed's size and one more, agreeing on dx.
import { test, expect, numbersIn, small } from '../demo-fixtures.ts';

test('speedup: graph and closed form are timed, agree, and the chart has both', async ({ demo }) => {
  test.setTimeout(120_000);
  await demo.open(small.speedup, { waitForData: false });
  const { page } = demo;
  await page.getByTestId('speedup-start').click();
  await expect(page.getByTestId('speedup-status')).toHaveText(/^done/, { timeout: 100_000 });
  await expect(page.getByTestId('speedup-summary')).toContainText('100 × 500');
  await expect(page.getByTestId('speedup-summary')).toContainText('timestamp-query');
  for (let i = 0; i < 2; i++) {
    const cells = await page.getByTestId(`speedup-row-${i}`).locator('td').allTextContents();
    const [graphMs, altMs, speedup, dxDiff] = cells.map((c) => numbersIn(c)[0]!);
    for (const v of [graphMs, altMs, speedup]) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThan(0);
    }
    expect(dxDiff).toBeLessThan(1e-4);
  }
  await expect(page.getByTestId('speedup-time-points')).toHaveText('graph: 2 points · alternative: 2 points');

  // where the time goes, at 100 × 500 (one chunk): the graph's five passes, the closed form's one, against the copy roof
  const roof = await page.getByTestId('speedup-roof').textContent();
  console.log(roof);
  expect(roof).toMatch(/^100 × 500: graph: 5 passes, .* ms, .*; closed form: 1 pass, .* ms; the closed form moves 608 KB in /);
  const [roofGbps] = numbersIn(/at [\d.e+-]+% of the copy roof \(([\d.e+-]+) GB\/s/.exec(roof!)![1]!);
  expect(roofGbps).toBeGreaterThan(0);
  const N = 100 * 500;
  const d = 500; // bytes by the rule of src/ops/batchnorm-traffic.ts, written out
  const expected = [
    ['graph', 'dbeta+dgamma', 4 * (2 * N + 2 * d)],
    ['graph', 'dxhat', 4 * (2 * N + d)],
    ['graph', 'dvar', 4 * (2 * N + 2 * d)],
    ['graph', 'dmu', 4 * (3 * N + 4 * d)],
    ['graph', 'dx', 4 * (2 * N + d)],
    ['alternative', 'columns: sums + dx', 4 * (3 * N + 4 * d)], // 608 000 bytes
  ] as const;
  for (const [variant, label, bytes] of expected) {
    const k = variant === 'graph' ? expected.findIndex((e) => e[1] === label) : 0;
    const cells = await page.getByTestId(`speedup-pass-${variant}-${k}`).locator('td').allTextContents();
    expect(cells[0]).toBe(label);
    const [ms, b, gbps, percent] = cells.slice(1).map((c) => numbersIn(c)[0]!);
    expect(ms).toBeGreaterThan(0);
    expect(b).toBe(bytes);
    expect(Math.abs(gbps! / (bytes / (ms! * 1e6)) - 1)).toBeLessThan(0.01); // both shown to 3 digits
    expect(Math.abs(percent! / ((100 * gbps!) / roofGbps!) - 1)).toBeLessThan(0.02); // % of the roof in the line above
  }
  await expect(page.getByTestId('speedup-pass-graph-5')).toHaveCount(0);
  await expect(page.getByTestId('speedup-pass-alternative-1')).toHaveCount(0);
  // the bar charts: one bar per pass, and the roof across (two more points, half a pass beyond each end)
  await expect(page.getByTestId('speedup-passes-graph-points')).toHaveText('graph GB/s: 5 points · copy roof: 7 points');
  await expect(page.getByTestId('speedup-passes-alternative-points')).toHaveText('closed form GB/s: 1 points · copy roof: 3 points');
});
