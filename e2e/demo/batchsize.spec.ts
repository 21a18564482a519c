// Batch-size panel: at a reduced size it trains the baseline and both normalizations at batch 5, 10, 50, fills the
// table, the four accuracy charts and the results record, the math panel reads the runs, and every run follows the
// float64 reference trained by the page on the same minibatches.
import { test, expect, historyGaps, numbersIn, small, type Histories } from '../demo-fixtures.ts';

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
  type Run = Histories & {
    label: string;
    batchSize: number;
    normalization: string | null;
    bestValAcc: number;
    iterations: number;
    status: string;
  };
  const runsOf = () =>
    page.evaluate(() => (window.demo.results().panels as { batchsize: { runs: unknown[] } }).batchsize.runs) as Promise<Run[]>;
  const runs = await runsOf();
  for (const [i, x] of runs.entries())
    expect(numbersIn(await page.getByTestId(`bsize-${i}-best-val`).textContent())[0], `${x.label} best val shown`).toBeCloseTo(
      x.bestValAcc,
      2,
    );
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

  // The float64 reference (model=cpu: the reference net in a Web Worker, the same seed: the same initial weights and
  // minibatches) trains every run again: each loss step within 1e-4 relative, each accuracy check within 2 of 100 images.
  await demo.open(`model=cpu&${small.batchsize}&run=batchsize&autorun=1`);
  await expect(page.locator('body')).toHaveAttribute('data-autorun', 'done', { timeout: 220_000 });
  const cpu = await runsOf();
  expect(cpu.map((x) => x.label)).toEqual(runs.map((x) => x.label));
  for (const [i, x] of runs.entries()) {
    expect(cpu[i]!.status, x.label).toBe('completed');
    const g = historyGaps(x, cpu[i]!);
    console.log(
      `${x.label}: GPU against float64: worst loss step ${g.lossAt + 1} ${g.loss.toExponential(2)}, worst accuracy ${g.accAt} ${g.acc}`,
    );
    expect(g.loss, `${x.label} loss at step ${g.lossAt + 1}`).toBeLessThan(1e-4);
    expect(g.acc, `${x.label} accuracy at ${g.accAt}`).toBeLessThanOrEqual(2 / 100 + 1e-12);
  }
});
