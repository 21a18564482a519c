// The record parser on the real sample and on broken files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECORD_BYTES, labelHistogram, parseCIFAR10Batch, parseCIFAR10Files, parseClassNames } from '../../src/data/cifar10.ts';
import { readCIFAR10Dir } from '../../src/data/locate.ts';
import { sampleDir } from './sample.ts';

const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(sampleDir, name)));

describe('CIFAR-10 binary records', () => {
  it('parses the sample: counts, label histograms, first test labels, class names', () => {
    const train = parseCIFAR10Batch(read('data_batch_1.bin'), 'data_batch_1.bin');
    const test = parseCIFAR10Batch(read('test_batch.bin'), 'test_batch.bin');
    expect(train.count).toBe(4000);
    expect(test.count).toBe(1000);
    expect(train.images.length).toBe(4000 * 3072);
    expect(labelHistogram(train.labels)).toEqual([396, 366, 420, 384, 422, 393, 414, 385, 407, 413]);
    expect(labelHistogram(test.labels)).toEqual([103, 89, 100, 103, 90, 86, 112, 102, 106, 109]);
    expect([...test.labels.subarray(0, 10)]).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
    const names = parseClassNames(readFileSync(join(sampleDir, 'batches.meta.txt'), 'utf8'));
    expect(names).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  });

  it('keeps the record pixels in planar R, G, B order', () => {
    const raw = read('test_batch.bin');
    const test = parseCIFAR10Batch(raw, 'test_batch.bin');
    for (const i of [0, 17, 999]) {
      for (const [c, y, x] of [[0, 0, 0], [1, 5, 7], [2, 31, 31]] as const) {
        expect(test.images[i * 3072 + c * 1024 + y * 32 + x]).toBe(raw[i * RECORD_BYTES + 1 + c * 1024 + y * 32 + x]);
      }
    }
  });

  it('rejects a truncated file, a bad label and a wrong size, naming the file', () => {
    const raw = read('test_batch.bin');
    expect(() => parseCIFAR10Batch(raw.subarray(0, raw.length - 1), 'data_batch_1.bin')).toThrow(
      'data_batch_1.bin: size 3072999 is not a multiple of 3073 (record = 1 label + 3072 pixels)',
    );
    expect(() => parseCIFAR10Batch(raw.subarray(0, 3073 * 5 + 100), 'test_batch.bin')).toThrow(
      'test_batch.bin: size 15465 is not a multiple of 3073',
    );
    const bad = raw.slice(0, 3073 * 20);
    bad[17 * 3073] = 12;
    expect(() => parseCIFAR10Batch(bad, 'test_batch.bin')).toThrow('test_batch.bin: record 17 has label 12, expected 0..9');
    expect(() => parseClassNames('a\nb\n')).toThrow('batches.meta.txt: has 2 class names, expected 10');
  });

  it('names a missing file and where it was looked for', () => {
    const files = new Map([['data_batch_1.bin', read('data_batch_1.bin')]]);
    expect(() => parseCIFAR10Files((n) => files.get(n), 'the dropped files')).toThrow('test_batch.bin: not found in the dropped files');
    expect(() => readCIFAR10Dir('/nonexistent/cifar')).toThrow('data_batch_1.bin: not found in /nonexistent/cifar');
  });

  it('reads a folder, training batches only as far as needed', () => {
    const b = readCIFAR10Dir(sampleDir, 10);
    expect(b.train.map((t) => t.name)).toEqual(['data_batch_1.bin']);
    expect(b.test.count).toBe(1000);
  });
});
