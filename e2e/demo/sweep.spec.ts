// Experiment 2 panel: a 3-scale sweep reports a row per scale with both models and fills the three charts.
import { test, expect, small } from '../demo-fixtures.ts';

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

test("the sweep batched (one population per network, the default) gives the sequential sweep's numbers, and shows both times", async ({
  demo,
}) => {
  test.setTimeout(300_000);
  const runs: Record<string, { label: string; status: string; lossHistory: number[]; valAccHistory: number[]; divergedAt?: number }[][]> =
    {};
  for (const training of ['batched', 'sequential']) {
    await demo.open(`${small.sweep}&s.training=${training}&s.epochs=2`);
    const { page } = demo;
    await page.evaluate(() =>
      document.addEventListener('demo:sweep', (e) => {
        (window as unknown as { lastSweep: unknown }).lastSweep = (e as CustomEvent).detail;
      }),
    );
    await page.getByTestId('sweep-start').click();
    await expect(page.getByTestId('sweep-status')).toHaveText(/^done/, { timeout: 220_000 });
    await expect(page.getByTestId('sweep-timing')).toContainText(
      training === 'batched' ? 'batched: one population per network' : 'sequential',
    );
    await expect(page.getByTestId('sweep-timing')).toHaveText(/batchnorm [\d.]+ s, baseline [\d.]+ s, total [\d.]+ s/);
    runs[training] = (await page.evaluate(() =>
      (window as unknown as { lastSweep: { runs: Record<string, unknown> }[] }).lastSweep.map((r) => Object.values(r.runs)),
    )) as never;
  }
  const [batched, sequential] = [runs.batched!, runs.sequential!];
  expect(batched).toHaveLength(3);
  for (let i = 0; i < 3; i++) {
    for (const label of ['batchnorm', 'baseline']) {
      const b = batched[i]!.find((t) => t.label === label)!;
      const q = sequential[i]!.find((t) => t.label === label)!;
      expect(b.status, `scale ${i} ${label}`).toBe(q.status);
      expect(b.lossHistory.length, `scale ${i} ${label}`).toBe(q.lossHistory.length);
      expect(b.lossHistory.length).toBeGreaterThan(0);
      b.lossHistory.forEach((l, j) => {
        if (Number.isFinite(q.lossHistory[j]!))
          expect(Math.abs(l - q.lossHistory[j]!) / q.lossHistory[j]!, `scale ${i} ${label} step ${j + 1}`).toBeLessThan(1e-4);
        else expect(Number.isFinite(l)).toBe(false);
      });
      // within one of the 200 validation images: the population's batched kernels sum in another order than a net alone's
      // (the losses agree to 1e-4), which can flip a near-tie of an argmax
      expect(b.valAccHistory.length, `scale ${i} ${label}`).toBe(q.valAccHistory.length);
      b.valAccHistory.forEach((a, j) =>
        expect(Math.abs(a - q.valAccHistory[j]!), `scale ${i} ${label} check ${j}`).toBeLessThan(1 / 200 + 1e-9),
      );
    }
  }
});
