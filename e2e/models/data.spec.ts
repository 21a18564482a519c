// CIFAR-10 in the browser: dev-server fetch, IndexedDB cache hit on reload, picked and dropped files, parse timing.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';

// The dev server (the Playwright webServer) must see the same files: run with CIFAR10_DIR set, or data/cifar-10-batches-bin.
const sampleDir = resolve(process.env.CIFAR10_DIR || resolve(import.meta.dirname, '../../../shared/cifar10'));
const sampleFiles = ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt'].map((n) => join(sampleDir, n));
const trainHistogram = '396 366 420 384 422 393 414 385 407 413';
const testHistogram = '103 89 100 103 90 86 112 102 106 109';

/** Waits for load number `n` to finish and fails with the page's error text when it did not succeed. */
async function loaded(page: Page, n: number): Promise<void> {
  await expect(page.getByTestId('loads')).toHaveText(String(n), { timeout: 120_000 });
  const error = await page.getByTestId('error').textContent();
  expect(error, 'the page reported an error (does the dev server see the CIFAR-10 files? set CIFAR10_DIR)').toBe('');
  await expect(page.getByTestId('status')).toHaveText('ready');
}

async function expectSample(page: Page): Promise<void> {
  await expect(page.getByTestId('train-count')).toHaveText('4000');
  await expect(page.getByTestId('test-count')).toHaveText('1000');
  await expect(page.getByTestId('train-histogram')).toHaveText(trainHistogram);
  await expect(page.getByTestId('test-histogram')).toHaveText(testHistogram);
  await expect(page.getByTestId('first-test-labels')).toHaveText('3 8 8 0 6 6 1 6 3 1');
  await expect(page.getByTestId('class-names')).toHaveText('airplane automobile bird cat deer dog frog horse ship truck');
  await expect(page.getByTestId('splits')).toHaveText('3000 1000 1000 mean~0');
}

test('loads the .bin files from the dev server, then a reload is an IndexedDB cache hit', async ({ page }) => {
  await page.goto('/e2e/data.html');
  await loaded(page, 1);
  await expect(page.getByTestId('source')).toContainText('server: http://127.0.0.1');
  await expect(page.getByTestId('cache-hit')).toHaveText('false');
  await expect(page.getByTestId('train-batches')).toHaveText('data_batch_1.bin:4000');
  await expectSample(page);
  const firstMs = await page.getByTestId('load-ms').textContent();
  await page.reload();
  await loaded(page, 1);
  await expect(page.getByTestId('cache-hit')).toHaveText('true');
  await expectSample(page);
  console.log(`server load ${firstMs} ms, cached reload ${await page.getByTestId('load-ms').textContent()} ms`);
});

test('takes picked .bin files, a picked .tar.gz, and a synthetic drop', async ({ page }) => {
  const tmp = mkdtempSync(join(tmpdir(), 'cifar10-e2e-'));
  try {
    mkdirSync(join(tmp, 'cifar-10-batches-bin'));
    for (const f of sampleFiles) cpSync(f, join(tmp, 'cifar-10-batches-bin', f.slice(f.lastIndexOf('/') + 1)));
    const archive = join(tmp, 'cifar-10-binary.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', tmp, 'cifar-10-batches-bin']);

    await page.goto('/e2e/data.html?auto=0');
    await expect(page.getByTestId('status')).toHaveText('idle');
    await page.getByTestId('file-input').setInputFiles(sampleFiles);
    await loaded(page, 1);
    await expect(page.getByTestId('source')).toHaveText('files: data_batch_1.bin, test_batch.bin, batches.meta.txt');
    await expect(page.getByTestId('cache-hit')).toHaveText('false');
    await expectSample(page);

    await page.getByTestId('file-input').setInputFiles([archive]);
    await loaded(page, 2);
    await expect(page.getByTestId('source')).toHaveText('files: cifar-10-binary.tar.gz');
    await expect(page.getByTestId('cache-hit')).toHaveText('false');
    await expectSample(page);

    // the archive again: same name, size and date, so the cached parse is used
    await page.getByTestId('file-input').setInputFiles([]);
    await page.getByTestId('file-input').setInputFiles([archive]);
    await loaded(page, 3);
    await expect(page.getByTestId('cache-hit')).toHaveText('true');
    await expectSample(page);

    // a drop as the browser delivers it: a DataTransfer with File objects (here built from the dev server's files)
    const dataTransfer = await page.evaluateHandle(async () => {
      const dt = new DataTransfer();
      for (const n of ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt']) {
        dt.items.add(new File([await (await fetch(`/data/cifar10/${n}`)).blob()], n));
      }
      return dt;
    });
    await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer });
    await loaded(page, 4);
    await expect(page.getByTestId('source')).toHaveText('files: data_batch_1.bin, test_batch.bin, batches.meta.txt');
    await expect(page.getByTestId('cache-hit')).toHaveText('false');
    await expectSample(page);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a missing file is reported with the name of the file', async ({ page }) => {
  await page.goto('/e2e/data.html?auto=0');
  await page.getByTestId('file-input').setInputFiles(sampleFiles.slice(0, 2));
  await expect(page.getByTestId('status')).toHaveText('error');
  await expect(page.getByTestId('error')).toContainText('batches.meta.txt: not found in the given files');
});

test('times parse + preprocess in the browser (a figure, not a pass/fail)', async ({ page }) => {
  await page.goto('/e2e/data.html?auto=0&bench=full');
  await expect(page.getByTestId('status')).toHaveText('idle', { timeout: 170_000 });
  const [sample, scaled, full] = await Promise.all(
    ['bench-sample-ms', 'bench-scaled-ms', 'bench-full-ms'].map((id) => page.getByTestId(id).textContent()),
  );
  console.log(`browser parse + preprocess: sample (5000 images) ${sample} ms, scaled to 60000 ${scaled} ms, full-size 60000 ${full} ms`);
  test.info().annotations.push({ type: 'browser parse+preprocess ms', description: `sample ${sample}, scaled ${scaled}, full ${full}` });
  expect(Number(full)).toBeGreaterThan(0);
});

test('a cache that stalls or refuses costs the cache, never the load: the data comes at once and the note says why', async ({ page }) => {
  // IndexedDB whose open() never answers (a stalled profile), then one whose writes are refused (a full quota)
  await page.addInitScript(() => {
    const mode = new URLSearchParams(location.search).get('idb');
    if (mode === 'stall') indexedDB.open = () => ({}) as IDBOpenDBRequest;
    if (mode === 'refuse') {
      IDBObjectStore.prototype.put = function put() {
        throw new DOMException('the quota is full (test)', 'QuotaExceededError');
      };
    }
  });
  await page.goto('/e2e/harness.html?idb=stall');
  const stalled = await page.evaluate(async () => {
    const t0 = performance.now();
    const r = await window.lib.loadCIFAR10InBrowser({ cacheReadTimeoutMs: 300, cacheWriteTimeoutMs: 500 });
    const ms = performance.now() - t0;
    return { ms, cacheHit: r.cacheHit, count: r.batches.train[0]!.count, note: r.cacheNote, write: await r.cacheWrite };
  });
  expect(stalled.count).toBe(4000);
  expect(stalled.cacheHit).toBe(false);
  expect(stalled.note).toBe('the cache was not read: reading the IndexedDB cache did not finish within 300 ms');
  expect(stalled.write).toEqual({
    stored: false,
    reason: 'writing the IndexedDB cache (it may still complete) did not finish within 500 ms',
  });

  await page.goto('/e2e/harness.html?idb=refuse');
  const refused = await page.evaluate(async () => {
    const r = await window.lib.loadCIFAR10InBrowser({});
    return { count: r.batches.train[0]!.count, write: await r.cacheWrite };
  });
  expect(refused.count).toBe(4000);
  expect(refused.write.stored).toBe(false);
  expect((refused.write as { reason: string }).reason).toContain('the quota is full (test)');

  // the demo page: the data is ready and the box says the cache was not written, and why
  await page.goto('/demo/?idb=refuse');
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('dataset-cache')).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await expect(page.getByTestId('dataset-cache')).toContainText(
    'Not cached (the quota is full (test)): the next load downloads and parses again. Training is not affected.',
  );
});
