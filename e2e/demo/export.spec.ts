// Share and export: results download as JSON and CSV, charts as PNG, parameters as safetensors; the link holds the settings.
import { readFileSync } from 'node:fs';
import { test, expect, small } from '../demo-fixtures.ts';

test('a finished run downloads as JSON, CSV, PNG and safetensors, and the share link holds its settings', async ({ demo }) => {
  test.setTimeout(180_000);
  await demo.open(`${small.batchnorm}&run=batchnorm&autorun=1`);
  const { page } = demo;
  await expect(page.locator('body')).toHaveAttribute('data-autorun', 'done', { timeout: 160_000 });
  await expect(page.getByTestId('exp1-status')).toHaveText(/^done/);
  const downloads: import('@playwright/test').Download[] = [];
  page.on('download', (d) => downloads.push(d));
  /** Click a download button and return the `count` files it saves. */
  const save = async (what: string, count = 1) => {
    const before = downloads.length;
    await page.getByTestId(`exp1-download-${what}`).click();
    await expect.poll(() => downloads.length).toBe(before + count);
    return Promise.all(downloads.slice(before).map(async (d) => ({ name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) })));
  };
  const [json] = await save('json');
  expect(json.name).toBe('batchnorm-results.json');
  const r = JSON.parse(json.bytes.toString('utf8'));
  expect(r.settings.numTrain).toBe(200);
  expect(r.models.batchnorm.lossHistory).toHaveLength(8);
  expect(r.models.baseline.valAccHistory).toHaveLength(3);
  expect(r.adapter.architecture).toBeTruthy();
  const [csv] = await save('csv');
  expect(csv.bytes.toString('utf8').split('\n')[0]).toBe('model,series,x,value');
  const pngs = await save('png', 3);
  expect(pngs.map((p) => p.name).sort()).toEqual(['exp1-loss.png', 'exp1-train-acc.png', 'exp1-val-acc.png']);
  for (const p of pngs) expect(p.bytes.subarray(1, 4).toString()).toBe('PNG');
  const files = await save('safetensors', 2);
  expect(files.map((f) => f.name)).toEqual(['batchnorm-experiment-batchnorm.safetensors', 'batchnorm-experiment-baseline.safetensors']);
  const st = files[0]!;
  const headerLength = Number(st.bytes.readBigUInt64LE(0));
  const header = JSON.parse(st.bytes.subarray(8, 8 + headerLength).toString('utf8'));
  expect(header.W1.shape).toEqual([3072, 32]);
  expect(header.gamma1.shape).toEqual([32]);
  await expect(page.getByTestId('share-link')).toHaveAttribute('href', /run=batchnorm&autorun=1.*b\.hidden=32x2.*b\.epochs=2/);
});
