// CIFAR-10 at its real size (a 184 MB folder of random pixels in the official format, made at test time) through
// getCIFAR10Data, the streaming archive reader, and the CLI (`npm run experiment -- batchnorm --data DIR|ARCHIVE`).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { cifar10BatchesFromTar } from '../../src/data/archive.ts';
import { getCIFAR10Data } from '../../src/data/get-cifar10-data.ts';
import { readArchiveFile, readCIFAR10Dir } from '../../src/data/locate.ts';
import { makeFullSizeArchive, makeFullSizeCIFAR10, meanOfFirstRecords } from '../helpers/full-size-cifar10.ts';

const RECORD = 3073;
let dir: string;
let archive: string;
let mean: Float64Array;
beforeAll(() => {
  dir = makeFullSizeCIFAR10();
  archive = makeFullSizeArchive();
  mean = meanOfFirstRecords(dir, 49000);
}, 180_000);

/** Record `i` of the concatenated training files, read straight from disk: [label, pixels]. */
function record(i: number, file?: string): [number, Uint8Array] {
  const name = file ?? `data_batch_${Math.floor(i / 10000) + 1}.bin`;
  const bytes = readFileSync(join(dir, name));
  const at = (i % 10000) * RECORD;
  return [bytes[at]!, bytes.subarray(at + 1, at + RECORD)];
}

function maxMeanError(got: ArrayLike<number>): number {
  let worst = 0;
  for (let j = 0; j < 3072; j++) worst = Math.max(worst, Math.abs(got[j]! - mean[j]!));
  return worst;
}

describe('full-size CIFAR-10', () => {
  it('getCIFAR10Data: 49000 / 1000 / 1000, the mean over the 49000, rows minus the mean', async () => {
    const data = await getCIFAR10Data({ dir, log: () => {} });
    expect(data.XTrain.shape).toEqual([49000, 3, 32, 32]);
    expect(data.XVal.shape).toEqual([1000, 3, 32, 32]);
    expect(data.XTest.shape).toEqual([1000, 3, 32, 32]);
    expect(maxMeanError(data.meanImage)).toBeLessThan(1e-4);
    // training rows from the first and the last file, validation = records 49000.., test = test_batch
    for (const [X, y, row, i, file] of [
      [data.XTrain, data.yTrain, 0, 0], [data.XTrain, data.yTrain, 48999, 48999],
      [data.XVal, data.yVal, 0, 49000], [data.XVal, data.yVal, 999, 49999], [data.XTest, data.yTest, 7, 7, 'test_batch.bin'],
    ] as const) {
      const [label, pixels] = record(i, file);
      expect(y[row]).toBe(label);
      for (const j of [0, 1, 1023, 2048, 3071]) expect(X.data[row * 3072 + j]).toBe(Math.fround(pixels[j]! - data.meanImage[j]!));
    }
  }, 120_000);

  it('the .tar.gz streams into the same batches as the folder, never holding the archive whole', async () => {
    // live memory, sampled after a collection (vite.config.ts runs the tests with --expose-gc): chunks already
    // parsed are garbage, what is still referenced is what the reader holds
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs with --expose-gc').toBeTypeOf('function');
    gc!();
    let peak = 0;
    const sample = setInterval(() => { gc!(); peak = Math.max(peak, process.memoryUsage().arrayBuffers); }, 100);
    const before = process.memoryUsage().arrayBuffers;
    const batches = await readArchiveFile(archive, cifar10BatchesFromTar('cifar-10-binary.tar.gz'));
    clearInterval(sample);
    gc!();
    const held = process.memoryUsage().arrayBuffers - before;
    peak = Math.max(peak, held + before);
    const parsed = (50000 + 10000) * RECORD;
    console.log(`streaming the ${(parsed / 2 ** 20).toFixed(0)} MiB archive: live array buffers peaked ${((peak - before) / 2 ** 20).toFixed(0)} MiB above the start; the batches hold ${(held / 2 ** 20).toFixed(0)} MiB`);
    // the parsed batches, plus chunks in flight and the one batch copied into the contiguous buffer at the end;
    // holding the archive (or the tar) whole beside them would add another 176 MiB (Node's DecompressionStream did: +141)
    expect(peak - before).toBeLessThan(parsed + 32 * 2 ** 20);
    const folder = readCIFAR10Dir(dir);
    expect(batches.train.map((b) => [b.name, b.count])).toEqual(folder.train.map((b) => [b.name, b.count]));
    for (let k = 0; k < 5; k++) {
      expect(Buffer.from(batches.train[k]!.images).equals(Buffer.from(folder.train[k]!.images))).toBe(true);
      expect(Buffer.from(batches.train[k]!.labels).equals(Buffer.from(folder.train[k]!.labels))).toBe(true);
    }
    expect(Buffer.from(batches.test.images).equals(Buffer.from(folder.test.images))).toBe(true);
  }, 120_000);

  for (const what of ['folder', 'archive'] as const) {
    it(`the CLI trains on the full-size ${what}: the page's splits are 49000 / 1000 / 1000 with the mean over the 49000`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'wb-cli-'));
      try {
        const root = resolve(import.meta.dirname, '../..');
        const { stderr } = await promisify(execFile)('node', [
          join(root, 'scripts/experiment.mjs'), 'batchnorm', '--data', what === 'folder' ? dir : archive,
          '--num-train', '200', '--epochs', '1', '--out', out, '--timeout', '400',
        ], { cwd: root, maxBuffer: 64 * 2 ** 20 });
        expect(stderr).toContain('CIFAR-10 ready: 49000 training, 1000 validation, 1000 test images');
        if (what === 'archive') expect(stderr).toMatch(/--data cifar-10-binary\.tar\.gz, extracted/);
        const record = JSON.parse(readFileSync(join(out, 'batchnorm.json'), 'utf8'));
        expect(record.status).toMatch(/^done/);
        const { train, val, test, meanImage } = record.dataset;
        expect([train, val, test]).toEqual([49000, 1000, 1000]);
        expect(maxMeanError(meanImage)).toBeLessThan(1e-4);
        for (const m of Object.values(record.results.models) as { status: string; lossHistory: number[] }[]) {
          expect(m.status).toBe('completed');
          expect(m.lossHistory).toHaveLength(4); // 200 images, batch 50, one epoch
          expect(Math.abs(m.lossHistory[0]! - Math.log(10))).toBeLessThan(0.1); // small weights: every class equally likely
        }
        expect(readdirSync(out).sort()).toEqual(['batchnorm.csv', 'batchnorm.json', 'exp1-loss.png', 'exp1-train-acc.png', 'exp1-val-acc.png']);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 480_000);
  }
});
