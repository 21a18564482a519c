// Times CIFAR-10 parsing + preprocessing in Node: on the sample (scaled to 60000 images) and on a full-size synthetic set.
//
// Run (Node 20 cannot strip types, and nothing here needs Vitest; the bundler inlines the library's WGSL as text):
//   node bench/build-node.mjs bench/data-bench.ts bench/dist/data-bench.mjs && node bench/dist/data-bench.mjs
// A figure, not a test: it prints, it never fails. $CIFAR10_DIR overrides where the sample is.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { RECORD_BYTES, makeCIFAR10Data, makeCIFAR10Uint8, parseCIFAR10Files, type SplitOptions } from '../src/index.ts';

const dir = resolve(process.env.CIFAR10_DIR || '../shared/cifar10');
const files = new Map(
  ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt'].map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))]),
);

/** Parse + split + mean + float32 conversion of `get`'s files; returns milliseconds. */
function once(get: (n: string) => Uint8Array | undefined, split: SplitOptions): number {
  const t0 = performance.now();
  const data = makeCIFAR10Data(makeCIFAR10Uint8(parseCIFAR10Files(get, 'bench'), split));
  const ms = performance.now() - t0;
  if (data.XTrain.data.length === 0) throw new Error('empty');
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

// 1. the sample: 4000 train records + 1000 test, all 5000 used (3000 train, 1000 val, 1000 test)
const sampleSplit = { numTraining: 3000, numValidation: 1000, numTest: 1000 };
const runs = Array.from({ length: 12 }, () => once((n) => files.get(n), sampleSplit)).slice(2); // 2 warm-up runs
const sampleMs = median(runs);
console.log(
  `sample, 5000 images: parse + preprocess median ${sampleMs.toFixed(1)} ms (min ${Math.min(...runs).toFixed(1)}) over ${runs.length} runs`,
);
console.log(`  scaled to 60000 images: ${((sampleMs * 60000) / 5000).toFixed(0)} ms`);

// 2. full size: 5 training batches and a test batch of 10000 records each, tiled from the sample's records
function tile(src: Uint8Array, records: number): Uint8Array {
  const out = new Uint8Array(records * RECORD_BYTES);
  for (let at = 0; at < out.length; at += src.length) out.set(src.subarray(0, Math.min(src.length, out.length - at)), at);
  return out;
}
const full = new Map<string, Uint8Array>([
  ['batches.meta.txt', files.get('batches.meta.txt')!],
  ['test_batch.bin', tile(files.get('test_batch.bin')!, 10000)],
]);
for (let b = 1; b <= 5; b++) full.set(`data_batch_${b}.bin`, tile(files.get('data_batch_1.bin')!, 10000));
const fullSplit = { numTraining: 49000, numValidation: 1000, numTest: 10000 };
const fullRuns = Array.from({ length: 4 }, () => once((n) => full.get(n), fullSplit)).slice(1);
console.log(
  `full size, 60000 images (49000 train + 1000 val + 10000 test): parse + preprocess median ${median(fullRuns).toFixed(0)} ms (min ${Math.min(...fullRuns).toFixed(0)}) over ${fullRuns.length} runs`,
);
console.log(
  `  (runs: ${fullRuns.map((m) => m.toFixed(0)).join(', ')} ms; Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(2)})`,
);
