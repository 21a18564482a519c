// CIFAR-10 at its real size (5 x 10000 + 10000 records, 184 MB, random pixels in the official format, made at test time):
// the demo page loads it with the cache on, trains on 49000 images, reloads from the cache and trains again; the
// .tar.gz is picked and read as a stream; a device with 128 MiB bindings gathers from both chunks of the training set.
import { statSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { findChromium, webgpuChromiumArgs } from '../find-chromium.ts';
import { fullSizeDir, makeFullSizeArchive, makeFullSizeCIFAR10, meanOfFirstRecords } from '../../test/helpers/full-size-cifar10.ts';

// precise heap figures, and measureUserAgentSpecificMemory without waiting for a GC (the e2e server is cross-origin isolated)
test.use({
  launchOptions: {
    executablePath: findChromium(),
    args: [...webgpuChromiumArgs, '--enable-precise-memory-info', '--enable-blink-features=ForceEagerMeasureMemory'],
  },
});

const MiB = 1024 * 1024;
let expectedMean: Float64Array;
let archive: string;

test.beforeAll(() => {
  test.setTimeout(180_000);
  expect(makeFullSizeCIFAR10()).toBe(fullSizeDir); // the dev server serves this folder at /data/cifar10-full/
  archive = makeFullSizeArchive();
  expectedMean = meanOfFirstRecords(fullSizeDir, 49000);
});

/** JS heap, the page's whole memory (where measurable) and GPU bytes, in MiB. */
async function memory(page: Page): Promise<{ jsHeapMiB: number; pageMiB: number | null; gpuMiB: number | null }> {
  return page.evaluate(async () => {
    const perf = performance as Performance & {
      memory?: { usedJSHeapSize: number };
      measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
    };
    const ua =
      globalThis.crossOriginIsolated && perf.measureUserAgentSpecificMemory ? (await perf.measureUserAgentSpecificMemory()).bytes : null;
    const m = 1024 * 1024;
    const gpu = (window as unknown as { demo?: { gpu?: { stats: { bytesLive: number } } } }).demo?.gpu;
    return {
      jsHeapMiB: (perf.memory?.usedJSHeapSize ?? NaN) / m,
      pageMiB: ua === null ? null : ua / m,
      gpuMiB: gpu ? gpu.stats.bytesLive / m : null,
    };
  });
}

/** The page's splits: 49000 / 1000 / 1000, and the training mean image as read straight from the files. */
async function expectFullSplits(page: Page): Promise<void> {
  await expect(page.getByTestId('dataset-status')).toContainText('49000 training, 1000 validation, 1000 test images');
  const s = await page.evaluate(() => window.demo.datasetSummary());
  expect(s).not.toBeNull();
  expect([s!.train, s!.val, s!.test]).toEqual([49000, 1000, 1000]);
  let worst = 0;
  for (let j = 0; j < 3072; j++) worst = Math.max(worst, Math.abs(s!.meanImage[j]! - expectedMean[j]!));
  expect(worst, 'mean image vs the files read record by record').toBeLessThan(1e-4);
}

/**
 * Starts experiment 1 on all 49000 images, stops it after a few steps of the batchnorm net, and checks those
 * steps: finite losses starting at ln 10 (small weights: every class equally likely), as a hand computation says.
 */
async function trainAFewSteps(page: Page): Promise<{ steps: number; firstLoss: number; gpuMiB: number | null }> {
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('exp1-rate')).toContainText(/\b([3-9]|\d\d+) \/ 1960 steps/, { timeout: 120_000 });
  const during = await memory(page);
  await page.getByTestId('exp1-stop').click();
  await expect(page.getByTestId('exp1-status')).toHaveText(/^stopped/, { timeout: 60_000 });
  // the stopped model is kept for its parameters, but its copy of the 143.6 MiB training set is freed
  const stopped = await memory(page);
  expect(during.gpuMiB! - stopped.gpuMiB!, `GPU ${during.gpuMiB} MiB while training, ${stopped.gpuMiB} MiB after`).toBeGreaterThan(140);
  const losses = await page.evaluate(() => {
    const r = window.demo.results() as { panels: { batchnorm?: { models: Record<string, { lossHistory: number[] }> } } };
    return r.panels.batchnorm?.models.batchnorm?.lossHistory ?? [];
  });
  expect(losses.length).toBeGreaterThanOrEqual(3);
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
  expect(Math.abs(losses[0]! - Math.log(10)), `first loss ${losses[0]}`).toBeLessThan(0.1);
  return { steps: losses.length, firstLoss: losses[0]!, gpuMiB: during.gpuMiB };
}

const settings = 'data=/data/cifar10-full/&b.numTrain=49000&b.numVal=1000&b.epochs=1';

test('the full-size set from the server: cached on load, trains on 49000 images, and a reload reads the cache and trains', async ({
  page,
}) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`/demo/?${settings}`);
  await page.evaluate(() => indexedDB.deleteDatabase('webgpu-batchnorm')); // a fresh profile, but say so
  await page.reload();
  const status = page.getByTestId('dataset-status');
  await expect(status).toHaveAttribute('data-state', 'ready', { timeout: 180_000 });
  await expect(status).toHaveAttribute('data-source', 'fresh');
  const firstLoad = await status.textContent();
  await expectFullSplits(page);
  const loaded = await memory(page);
  await expect(page.getByTestId('dataset-cache')).toHaveAttribute('data-state', 'stored', { timeout: 180_000 });
  await expect(page.getByTestId('dataset-cache')).toContainText('the next load skips the download and the parse');
  const trained = await trainAFewSteps(page);

  await page.reload();
  await expect(status).toHaveAttribute('data-state', 'ready', { timeout: 180_000 });
  await expect(status).toHaveAttribute('data-source', 'cache');
  await expect(page.getByTestId('dataset-cache')).toHaveAttribute('data-state', 'hit');
  await expect(page.getByTestId('dataset-cache')).toContainText('no download and no parse this time');
  const secondLoad = await status.textContent();
  await expectFullSplits(page);
  const reloaded = await memory(page);
  const retrained = await trainAFewSteps(page);
  const after = await memory(page);
  expect(errors).toEqual([]);
  const f = (m: { jsHeapMiB: number; pageMiB: number | null; gpuMiB: number | null }) =>
    `JS heap ${m.jsHeapMiB.toFixed(1)} MiB, page ${m.pageMiB?.toFixed(1) ?? '?'} MiB, GPU ${m.gpuMiB?.toFixed(1) ?? '?'} MiB`;
  console.log(
    [
      `first load: ${firstLoad}`,
      `second load: ${secondLoad}`,
      `after the fresh load: ${f(loaded)}`,
      `while training (data on the GPU): GPU ${trained.gpuMiB?.toFixed(1)} MiB`,
      `after the cached load: ${f(reloaded)}`,
      `after the second run: ${f(after)}`,
      `steps: ${trained.steps} then ${retrained.steps}; first losses ${trained.firstLoss.toFixed(4)} / ${retrained.firstLoss.toFixed(4)}`,
    ].join('\n'),
  );
});

test('the full-size .tar.gz picked on the page is read as a stream and trains', async ({ page }) => {
  test.setTimeout(600_000);
  await page.goto(`/demo/?b.numTrain=49000&b.numVal=1000&b.epochs=1`); // the sample loads from the server first
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  const before = await memory(page);
  await page.getByTestId('dataset-files').setInputFiles(archive);
  await expect(page.getByTestId('dataset-status')).toContainText('49000 training', { timeout: 240_000 });
  await expect(page.getByTestId('dataset-status')).toContainText('files: cifar-10-binary.tar.gz');
  await expectFullSplits(page);
  const loaded = await memory(page);
  const trained = await trainAFewSteps(page);
  console.log(
    `archive ${(statSync(archive).size / MiB).toFixed(1)} MiB: before ${before.pageMiB?.toFixed(1)} MiB, after the load ` +
      `JS heap ${loaded.jsHeapMiB.toFixed(1)} MiB, page ${loaded.pageMiB?.toFixed(1)} MiB; ${trained.steps} steps, GPU ${trained.gpuMiB?.toFixed(1)} MiB`,
  );
});

test('a device with 128 MiB bindings trains on 49000 images in two chunks, step for step with the float64 reference', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/e2e/harness.html');
  const r = await page.evaluate(async () => {
    const { lib } = window;
    const { reference } = lib;
    // the WebGPU defaults, which many laptops and phones do not exceed: 128 MiB a binding, 256 MiB a buffer
    const gpu = await lib.requestGpu({
      requiredLimits: { maxStorageBufferBindingSize: 128 * 1024 * 1024, maxBufferSize: 256 * 1024 * 1024 },
    });
    const N = 49000;
    const D = 3072;
    const images = new Uint8Array(N * D);
    const words = new Uint32Array(images.buffer);
    let s = 12345;
    for (let i = 0; i < words.length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      words[i] = s;
    }
    const labels = Uint8Array.from({ length: N }, (_, i) => (i * 7) % 10);
    const meanImage = lib.computeMeanImage(images, N);
    const data = {
      XTrain: { data: images, shape: [N, D] },
      yTrain: labels,
      XVal: { data: images.subarray(0, 100 * D), shape: [100, D] },
      yVal: labels.subarray(0, 100),
      meanImage,
    };
    const netOpts = { useBatchnorm: true, weightScale: 2e-2, seed: 3 };
    const net = await lib.FullyConnectedNeuralNet.create(gpu, [64], netOpts);
    const cpu = lib.createReferenceTrainer(new reference.FullyConnectedNeuralNet([64], netOpts));
    const bytesBefore = gpu.stats.bytesLive;
    for (const m of [net, cpu]) {
      await m.attachData(data);
      await m.setUpdateRule('adam', { learningRate: 1e-3 });
    }
    const uploaded = gpu.stats.bytesLive - bytesBefore;
    // minibatches from both chunks: the first rows, the rows around the chunk boundary, the last rows
    const chunkRows = lib.chunkRowsFor(gpu.device.limits, D, N);
    const batches = [
      Uint32Array.from({ length: 50 }, (_, i) => i * 979),
      Uint32Array.from({ length: 50 }, (_, i) => chunkRows - 25 + i),
      Uint32Array.from({ length: 50 }, (_, i) => N - 1 - i),
    ];
    const gpuLoss = [];
    const cpuLoss = [];
    for (const b of batches) {
      gpuLoss.push(await net.step(b));
      cpuLoss.push(await cpu.step(b));
    }
    net.destroy();
    gpu.device.destroy();
    return { limit: gpu.device.limits.maxStorageBufferBindingSize, chunkRows, uploaded, gpuLoss, cpuLoss };
  });
  expect(r.limit).toBe(128 * 1024 * 1024);
  expect(r.chunkRows).toBeLessThan(49000); // the 150 MB training set does not fit one binding: two chunks
  expect(Math.ceil(49000 / r.chunkRows)).toBe(2);
  expect(r.uploaded).toBeGreaterThanOrEqual(49100 * 3072);
  r.gpuLoss.forEach((l, i) =>
    expect(Math.abs(l - r.cpuLoss[i]!) / r.cpuLoss[i]!, `step ${i + 1}: gpu ${l} cpu ${r.cpuLoss[i]}`).toBeLessThan(1e-3),
  );
  console.log(
    `128 MiB bindings: ${r.chunkRows} rows a chunk, ${(r.uploaded / 1048576).toFixed(1)} MiB uploaded; losses gpu ${r.gpuLoss.map((l) => l.toFixed(5)).join(' ')} / f64 ${r.cpuLoss.map((l) => l.toFixed(5)).join(' ')}`,
  );
});
