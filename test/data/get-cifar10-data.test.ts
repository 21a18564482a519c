// getCIFAR10Data / getCIFAR10Uint8 on the sample: splits, planar layout, mean image, errors, sources.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RECORD_BYTES } from '../../src/data/cifar10.ts';
import { getCIFAR10Data, getCIFAR10Uint8 } from '../../src/data/get-cifar10-data.ts';
import { sampleDir, tempDir } from './sample.ts';

const raw = (name: string): Uint8Array => new Uint8Array(readFileSync(join(sampleDir, name)));
const quiet = { log: () => {} };

afterEach(() => vi.unstubAllEnvs());

describe('getCIFAR10Data', () => {
  it('splits like cs231n: train = first N, val = the next M, test = first K of test_batch', async () => {
    const batch1 = raw('data_batch_1.bin');
    const testBatch = raw('test_batch.bin');
    const d = await getCIFAR10Data({ dir: sampleDir, numTraining: 3000, numValidation: 1000, numTest: 500, ...quiet });
    expect(d.XTrain.shape).toEqual([3000, 3, 32, 32]);
    expect(d.XVal.shape).toEqual([1000, 3, 32, 32]);
    expect(d.XTest.shape).toEqual([500, 3, 32, 32]);
    expect(d.XTrain.data.length).toBe(3000 * 3072);
    expect(d.yVal[0]).toBe(batch1[3000 * RECORD_BYTES]);
    expect(d.yTrain[2999]).toBe(batch1[2999 * RECORD_BYTES]);
    expect([...d.yTest.subarray(0, 10)]).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
    expect(d.classNames[3]).toBe('cat');
    // XVal row 0 is record 3000 minus the mean, element [c, y, x] at c*1024 + y*32 + x
    for (let c = 0; c < 3; c++) {
      for (const [y, x] of [[0, 0], [3, 29], [31, 31], [16, 8]]) {
        const p = c * 1024 + y * 32 + x;
        expect(d.XVal.data[p]).toBe(Math.fround(batch1[3000 * RECORD_BYTES + 1 + p] - d.meanImage[p]));
        expect(d.XTest.data[499 * 3072 + p]).toBe(Math.fround(testBatch[499 * RECORD_BYTES + 1 + p] - d.meanImage[p]));
      }
    }
  });

  it('meanImage is the float64 mean of the training split, and XTrain has mean ~0 per pixel', async () => {
    const batch1 = raw('data_batch_1.bin');
    const n = 3000;
    const d = await getCIFAR10Data({ dir: sampleDir, numTraining: n, ...quiet });
    let worst = 0;
    for (let p = 0; p < 3072; p++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += batch1[i * RECORD_BYTES + 1 + p];
      expect(d.meanImage[p]).toBe(Math.fround(sum / n));
      let centered = 0;
      for (let i = 0; i < n; i++) centered += d.XTrain.data[i * 3072 + p];
      worst = Math.max(worst, Math.abs(centered / n));
    }
    expect(worst).toBeLessThan(1e-4);
    const mean = d.meanImage.reduce((s, v) => s + v, 0) / 3072;
    expect(mean).toBeGreaterThan(100); // natural images: a mean pixel near 120, so subtraction mattered
  });

  it('subtractMean: false keeps the raw pixel values', async () => {
    const d = await getCIFAR10Data({ dir: sampleDir, numTraining: 10, numValidation: 0, numTest: 1, subtractMean: false, ...quiet });
    const batch1 = raw('data_batch_1.bin');
    expect(d.XTrain.data[5 * 3072 + 100]).toBe(batch1[5 * RECORD_BYTES + 1 + 100]);
  });

  it('the uint8 form holds the same rows, packed', async () => {
    const u8 = await getCIFAR10Uint8({ dir: sampleDir, numTraining: 3000, ...quiet });
    const batch1 = raw('data_batch_1.bin');
    expect(u8.train.images.length).toBe(3000 * 3072);
    expect(u8.val.count).toBe(1000);
    expect(u8.val.images.subarray(0, 3072)).toEqual(batch1.subarray(3000 * RECORD_BYTES + 1, 3001 * RECORD_BYTES));
    expect(u8.meanImage).toBeInstanceOf(Float32Array);
    expect(u8.meanImage.length).toBe(3072);
  });

  it('asking for more images than the files hold says how many there are', async () => {
    await expect(getCIFAR10Data({ dir: sampleDir, ...quiet })).rejects.toThrow(
      /asked for 49000 training \+ 1000 validation images, but the training batches hold 4000 \(data_batch_1.bin: 4000\)/,
    );
    await expect(getCIFAR10Data({ dir: sampleDir, numTraining: 3000, numTest: 1001, ...quiet })).rejects.toThrow(
      'asked for 1001 test images, but test_batch.bin holds 1000',
    );
  });

  it('says which source it used: dir option, then CIFAR10_DIR, then data/cifar-10-batches-bin', async () => {
    const logs: string[] = [];
    const log = (m: string): void => void logs.push(m);
    await getCIFAR10Uint8({ dir: sampleDir, numTraining: 10, log });
    vi.stubEnv('CIFAR10_DIR', sampleDir);
    await getCIFAR10Uint8({ numTraining: 10, log });
    vi.stubEnv('CIFAR10_DIR', '');
    const cache = tempDir('cache');
    cpSync(sampleDir, join(cache, 'cifar-10-batches-bin'), { recursive: true });
    await getCIFAR10Uint8({ cacheDir: cache, numTraining: 10, log });
    expect(logs).toEqual([
      `CIFAR-10: reading ${sampleDir} (dir option)`,
      `CIFAR-10: reading ${sampleDir} (CIFAR10_DIR)`,
      `CIFAR-10: reading ${join(cache, 'cifar-10-batches-bin')}`,
    ]);
    await expect(getCIFAR10Uint8({ dir: '/nonexistent/x', ...quiet })).rejects.toThrow('dir option /nonexistent/x: no such folder');
  });
});
