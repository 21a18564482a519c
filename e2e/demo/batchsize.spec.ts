// Batch-size panel: at a reduced size it trains the baseline and both normalizations at batch 5, 10, 50, fills the
// table, the four accuracy charts and the results record, and the math panel reads the runs.
import { test, expect, numbersIn, small } from '../demo-fixtures.ts';

test('the batch-size experiments train every run, chart each experiment, and record batch size and normalization', async ({ demo }) => {
  test.setTimeout(240_000);
  await demo.open(small.batchsize);
  const { page } = demo;
  await page.getByTestId('bsize-start').click();
  await expect(page.getByTestId('bsize-status')).toHaveText(/^done/, { timeout: 220_000 });
  // 100 images, 1 epoch: 20 + 20 + 10 + 2 + 20 + 10 + 2 steps
  await expect(page.getByTestId('bsize-rate')).toContainText('84 / 84 steps');
  const labels = [
    'baseline, batch 5',
    'batchnorm, batch 5',
    'batchnorm, batch 10',
    'batchnorm, batch 50',
    'layernorm, batch 5',
    'layernorm, batch 10',
    'layernorm, batch 50',
  ];
  const steps = [20, 20, 10, 2, 20, 10, 2];
  for (const [i, label] of labels.entries()) {
    await expect(page.getByTestId(`bsize-row-${i}`)).toContainText(label);
    await expect(page.getByTestId(`bsize-${i}-status`)).toHaveText('completed');
    await expect(page.getByTestId(`bsize-${i}-steps`)).toHaveText(String(steps[i]));
    const [acc] = numbersIn(await page.getByTestId(`bsize-${i}-best-val`).textContent());
    expect(acc, `${label} best val`).toBeGreaterThanOrEqual(0);
    expect(acc, `${label} best val`).toBeLessThanOrEqual(1);
  }
  // per experiment, every run of it on one chart: 2 accuracy checks each (first step, end of the one epoch)
  for (const [id, norm] of [
    ['bsize-bn', 'batchnorm'],
    ['bsize-ln', 'layernorm'],
  ]) {
    for (const which of ['train', 'val']) {
      await expect(page.getByTestId(`${id}-${which}-acc-points`)).toHaveText(
        `baseline, batch 5: 2 points · ${norm}, batch 5: 2 points · ${norm}, batch 10: 2 points · ${norm}, batch 50: 2 points`,
      );
    }
  }
  const r = await page.evaluate(
    () =>
      window.demo.results().panels as Record<
        string,
        {
          runs: {
            label: string;
            batchSize: number;
            normalization: string | null;
            bestValAcc: number;
            valAccHistory: number[];
            trainAccHistory: number[];
            iterations: number;
          }[];
        }
      >,
  );
  const runs = r.batchsize!.runs;
  expect(runs.map((x) => [x.normalization, x.batchSize])).toEqual([
    [null, 5],
    ['batchnorm', 5],
    ['batchnorm', 10],
    ['batchnorm', 50],
    ['layernorm', 5],
    ['layernorm', 10],
    ['layernorm', 50],
  ]);
  for (const x of runs) {
    expect(x.valAccHistory).toHaveLength(2);
    expect(x.bestValAcc).toBe(Math.max(...x.valAccHistory));
    expect(x.iterations).toBe(Math.floor(100 / x.batchSize));
  }
  await expect(page.getByTestId('math-batchsize-live')).toContainText("This page's run");
  await expect(page.getByTestId('math-batchsize-live')).toContainText('Layer norm across batch sizes 5, 10, 50');
});
