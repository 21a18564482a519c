// The demo page when the GPU goes (loseGpuAt=N destroys its device at step N): the notice, the run going on, charts kept, parameters still downloadable.
import { test, expect } from '../demo-fixtures.ts';
import type { Page } from '@playwright/test';

/** 20 steps an epoch, 2 epochs a network: a loss at step 25 goes back to the epoch-1 checkpoint (iteration 20). */
const exp1 = 'b.hidden=16x2&b.numTrain=200&b.numVal=100&b.epochs=2&b.batchSize=10';
const sweep =
  's.hidden=16x2&s.numTrain=200&s.numVal=100&s.epochs=2&s.batchSize=10&s.numScales=1&s.fromExp=-1&s.toExp=-1&s.training=sequential';

interface Rec {
  status: string;
  message: string;
  lossHistory: number[];
  valAccHistory: number[];
  trainAccHistory: number[];
  recoveries: { iteration: number; resumedFrom: number; reason: string }[];
  checkpointIteration?: number;
}

const records = (page: Page, panel: 'batchnorm' | 'sweep') =>
  page.evaluate((p) => {
    const r = window.demo.panels[p]!.results() as { models?: Record<string, unknown>; runs?: { runs: Record<string, unknown> }[] };
    return (p === 'batchnorm' ? r.models : r.runs![0]!.runs) as Record<string, Rec>;
  }, panel);

/** The run with the loss equals the run without it: same losses (f32 tolerance), same accuracy checks. */
function expectSameRun(lost: Rec, clean: Rec): void {
  expect(lost.lossHistory).toHaveLength(clean.lossHistory.length);
  lost.lossHistory.forEach((v, i) =>
    expect(Math.abs(v - clean.lossHistory[i]!), `loss ${i}`).toBeLessThan(1e-5 * Math.abs(clean.lossHistory[i]!)),
  );
  expect(lost.valAccHistory).toEqual(clean.valAccHistory);
  expect(lost.trainAccHistory).toEqual(clean.trainAccHistory);
}

test('experiment 1: a device lost at step 25 shows the notice, the run goes on from epoch 1 and ends as a run without the loss', async ({
  demo,
}) => {
  test.setTimeout(300_000);
  await demo.open(`${exp1}&loseGpuAt=25`);
  const { page } = demo;
  const first = await page.evaluate(() => window.demo.gpu);
  expect(first).not.toBeNull();
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('gpu-status')).toHaveText(
    /^GPU device lost at step 2\d \(batchnorm network\): continuing on a new device from epoch 1$/,
    { timeout: 120_000 },
  );
  await expect(page.getByTestId('exp1-status')).toHaveText(/^done/, { timeout: 200_000 });
  await expect(page.getByTestId('exp1-loss-points')).toContainText('baseline: 40 points · batchnorm: 40 points');
  await expect(page.getByTestId('exp1-val-acc-points')).toContainText('baseline: 3 points · batchnorm: 3 points');
  const lost = await records(page, 'batchnorm');
  const events = await page.evaluate(() => ({
    events: window.demo.gpuEvents,
    errors: window.demo.gpu!.errors.length,
    lost: window.demo.gpu!.lostInfo !== null,
  }));
  expect(events.errors).toBe(0);
  expect(events.lost).toBe(false);
  expect(events.events.filter((e) => /GPU device lost at step/.test(e))).toHaveLength(1);
  expect(lost.batchnorm!.status).toBe('completed');
  expect(lost.batchnorm!.recoveries).toHaveLength(1);
  expect(lost.batchnorm!.recoveries[0]!.resumedFrom).toBe(20);
  expect(lost.baseline!.recoveries).toEqual([]);
  // the same run again, nothing lost this time (loseGpuAt acts once): the same figures
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('exp1-status')).toHaveText(/^done/, { timeout: 200_000 });
  const clean = await records(page, 'batchnorm');
  expect(clean.batchnorm!.recoveries).toEqual([]);
  expectSameRun(lost.batchnorm!, clean.batchnorm!);
  expectSameRun(lost.baseline!, clean.baseline!);
});

test('experiment 1: the new device lost too: the batchnorm run stops with its checkpoint, which still downloads; the baseline trains on a third device', async ({
  demo,
}) => {
  test.setTimeout(300_000);
  await demo.open(`${exp1}&loseGpuAt=25`);
  const { page } = demo;
  // destroy the replacement as soon as the recovery notice appears (before its first step)
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid=gpu-status]')!;
    new MutationObserver((_, obs) => {
      if (/continuing on a new device/.test(el.textContent ?? '')) {
        obs.disconnect();
        window.demo.gpu!.device.destroy();
      }
    }).observe(el, { childList: true, characterData: true, subtree: true });
  });
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('exp1-status')).toHaveText(/^done/, { timeout: 200_000 });
  await expect(page.getByTestId('exp1-batchnorm-status')).toHaveText('device-lost');
  await expect(page.getByTestId('exp1-baseline-status')).toHaveText('completed');
  const r = await records(page, 'batchnorm');
  expect(r.batchnorm!.checkpointIteration).toBe(20);
  expect(r.batchnorm!.message).toMatch(/lost again before a new checkpoint/);
  await expect(page.getByTestId('gpu-status')).toContainText('batchnorm network: GPU device lost at step');
  // the charts keep the stopped run's points
  await expect(page.getByTestId('exp1-loss-points')).toContainText(`batchnorm: ${r.batchnorm!.lossHistory.length} points`);
  expect(r.batchnorm!.lossHistory.length).toBeGreaterThanOrEqual(20);
  // its parameters download (from the host checkpoint of iteration 20)
  await page.getByTestId('exp1-download-safetensors').click();
  await expect(page.getByTestId('exp1-download-note')).toHaveText(
    'saved batchnorm-experiment-batchnorm.safetensors, batchnorm-experiment-baseline.safetensors',
  );
  const meta = await page.evaluate(async () => {
    const files = await window.demo.panels.batchnorm!.safetensors!();
    return files.map((f) => {
      const n = Number(new DataView(f.bytes.buffer, f.bytes.byteOffset, 8).getBigUint64(0, true));
      return {
        name: f.name,
        meta: JSON.parse(new TextDecoder().decode(f.bytes.subarray(8, 8 + n))).__metadata__ as Record<string, string>,
      };
    });
  });
  expect(meta[0]!.meta.checkpointIteration).toBe('20');
  expect(meta[1]!.meta.checkpointIteration).toBeUndefined();
});

test('the sweep: a device lost in its first network recovers, the next network trains on the new device, and both end as without the loss', async ({
  demo,
}) => {
  test.setTimeout(300_000);
  await demo.open(`${sweep}&loseGpuAt=25`);
  const { page } = demo;
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('gpu-status')).toHaveText(
    /^GPU device lost at step 2\d \(batchnorm network\): continuing on a new device from epoch 1$/,
    { timeout: 120_000 },
  );
  await expect(page.getByTestId('sweep-status')).toHaveText(/^done/, { timeout: 200_000 });
  await expect(page.getByTestId('sweep-summary')).toContainText('1 of 1 scales done');
  const lost = await records(page, 'sweep');
  expect(lost.batchnorm!.recoveries).toHaveLength(1);
  expect(lost.batchnorm!.recoveries[0]!.resumedFrom).toBe(20);
  expect(lost.baseline!.recoveries).toEqual([]);
  expect(await page.evaluate(() => window.demo.gpu!.errors.length)).toBe(0);
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('sweep-status')).toHaveText(/^done/, { timeout: 200_000 });
  const clean = await records(page, 'sweep');
  expectSameRun(lost.batchnorm!, clean.batchnorm!);
  expectSameRun(lost.baseline!, clean.baseline!);
});

test('the batched sweep: a device lost in the batchnorm population recovers it, the baseline population trains on the new device, all end as without the loss', async ({
  demo,
}) => {
  test.setTimeout(300_000);
  const batched = sweep
    .replace('s.training=sequential', 's.training=batched')
    .replace('s.numScales=1', 's.numScales=2')
    .replace('s.fromExp=-1', 's.fromExp=-2');
  await demo.open(`${batched}&loseGpuAt=25`);
  const { page } = demo;
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('gpu-status')).toHaveText(
    /^GPU device lost at step 2\d \(batchnorm population of 2\): continuing on a new device from epoch 1$/,
    { timeout: 120_000 },
  );
  await expect(page.getByTestId('sweep-status')).toHaveText(/^done/, { timeout: 200_000 });
  await expect(page.getByTestId('sweep-timing')).toContainText('batched');
  const all = (p: Page) =>
    p.evaluate(() => (window.demo.panels.sweep!.results() as { runs: { runs: Record<string, Rec> }[] }).runs.map((r) => r.runs));
  const lost = await all(page);
  expect(lost).toHaveLength(2);
  for (const scale of lost) {
    expect(scale.batchnorm!.recoveries).toHaveLength(1);
    expect(scale.batchnorm!.recoveries[0]!.resumedFrom).toBe(20);
    expect(scale.baseline!.recoveries).toEqual([]);
  }
  expect(await page.evaluate(() => window.demo.gpu!.errors.length)).toBe(0);
  await page.getByTestId('sweep-start').click();
  await expect(page.getByTestId('sweep-status')).toHaveText(/^done/, { timeout: 200_000 });
  const clean = await all(page);
  lost.forEach((scale, i) => {
    expectSameRun(scale.batchnorm!, clean[i]!.batchnorm!);
    expectSameRun(scale.baseline!, clean[i]!.baseline!);
  });
});
