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
});
