// The page never blocks: the longest main-thread task (PerformanceObserver 'longtask') during a CPU run (in a Web Worker)
// and a GPU run of experiment 1, and both runs give the same loss curves.
import { readFileSync } from 'node:fs';
import { test, expect } from '../demo-fixtures.ts';

/** A [100, 100] net: one float64 step of it takes ~0.1-0.4 s here, which blocked the page before the worker. */
const settings = 'b.hidden=100x2&b.numTrain=200&b.numVal=100&b.epochs=2';

interface Measured {
  longest: number;
  count: number;
  seconds: number;
  loss: Record<string, number[]>;
  workers: string[];
}

async function measureRun(demo: import('../demo-fixtures.ts').DemoPage, kind: 'cpu' | 'gpu'): Promise<Measured> {
  const { page } = demo;
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: { start: number; duration: number }[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  await demo.open(`model=${kind}&${settings}`);
  await expect(page.getByTestId(`model-${kind}`)).toBeChecked();
  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('exp1-rate')).toContainText(/[1-9]\d* \/ 16 steps/, { timeout: 120_000 });
  const workers = page.workers().map((w) => w.url());
  await expect(page.getByTestId('exp1-status')).toHaveText(/^done/, { timeout: 240_000 });
  const { tasks, t1 } = await page.evaluate(() => ({
    tasks: (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks,
    t1: performance.now(),
  }));
  const during = tasks.filter((t) => t.start >= t0);
  const download = page.waitForEvent('download');
  await page.getByTestId('exp1-download-json').click();
  const r = JSON.parse(readFileSync((await (await download).path())!, 'utf8')) as { models: Record<string, { lossHistory: number[] }> };
  return {
    longest: Math.max(0, ...during.map((t) => t.duration)),
    count: during.length,
    seconds: (t1 - t0) / 1000,
    workers,
    loss: Object.fromEntries(Object.entries(r.models).map(([k, m]) => [k, m.lossHistory])),
  };
}

const runs: Partial<Record<'cpu' | 'gpu', Measured>> = {};

for (const kind of ['cpu', 'gpu'] as const) {
  test(`a ${kind.toUpperCase()} run of experiment 1 leaves the main thread free (longest task reported)`, async ({ demo }) => {
    test.setTimeout(300_000);
    const m = await measureRun(demo, kind);
    runs[kind] = m;
    console.log(
      `${kind}: longest main-thread task ${m.longest.toFixed(0)} ms (${m.count} tasks over 50 ms) during a ${m.seconds.toFixed(1)} s run`,
    );
    test.info().annotations.push({
      type: 'longest main-thread task',
      description: `${kind}: ${m.longest.toFixed(0)} ms in ${m.seconds.toFixed(1)} s`,
    });
    // the float64 training runs off the main thread (the figure above is not asserted: under 50 ms on a quiet machine,
    // it passes 50 ms now and then on this shared 2-core one under load)
    expect(
      m.workers.some((u) => u.includes('cpu-worker')),
      `workers: ${m.workers.join(', ')}`,
    ).toBe(kind === 'cpu');
    expect(m.loss.batchnorm).toHaveLength(8);
    expect(m.loss.baseline).toHaveLength(8);
  });
}

test('the CPU run in the worker (float64) and the GPU run (f32) follow the same loss curves', () => {
  const { cpu, gpu } = runs;
  expect(cpu && gpu, 'both runs above completed').toBeTruthy();
  for (const model of ['batchnorm', 'baseline']) {
    gpu!.loss[model]!.forEach((l, i) =>
      expect(Math.abs(l - cpu!.loss[model]![i]!) / cpu!.loss[model]![i]!, `${model} step ${i + 1}`).toBeLessThan(1e-3),
    );
  }
});
