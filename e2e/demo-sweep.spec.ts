// Experiment 2 panel: a 3-scale sweep reports a row per scale with both models and fills the three charts.
import { test, expect, small } from './demo-fixtures.ts';

test('the weight-scale sweep at 3 scales reports both models at each scale', async ({ demo }) => {
  test.setTimeout(240_000);
  await demo.open(small.sweep);
  const { page } = demo;
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('sweep-status')).toHaveText(/^done/, { timeout: 220_000 });
  await expect(page.getByTestId('sweep-summary')).toContainText('3 of 3 scales done');
  for (let i = 0; i < 3; i++) {
    const row = page.getByTestId(`sweep-row-${i}`);
    await expect(row).toBeAttached();
    const text = (await row.textContent()) ?? '';
    expect(text).not.toContain('…');
    expect(text).toMatch(/(completed|diverged@\d+) \/ (completed|diverged@\d+)/);
  }
  for (const id of ['sweep-val-acc', 'sweep-train-acc']) {
    await expect(page.getByTestId(`${id}-points`)).toContainText('baseline: 3 points · batchnorm: 3 points');
  }
  // the final-loss chart has a point or a diverged marker for each run
  const loss = (await page.getByTestId('sweep-final-loss-points').textContent()) ?? '';
  const [, base, bn, marked] = /baseline: (\d+) points · batchnorm: (\d+) points(?: · (\d+) marked diverged)?/.exec(loss) ?? [];
  expect(Number(base) + Number(bn) + Number(marked ?? 0)).toBeGreaterThanOrEqual(6);
  await expect(page.getByTestId('math-live-conclusion')).toContainText("This page's sweep (3 scales");
});
