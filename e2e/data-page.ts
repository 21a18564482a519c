// The CIFAR-10 browser-loading test page: loads from the dev server or dropped files and reports in data-testid text.
import { RECORD_BYTES, labelHistogram, parseCIFAR10Files } from '../src/data/cifar10.ts';
import { loadCIFAR10InBrowser } from '../src/data/browser.ts';
import type { BrowserLoadOptions } from '../src/data/browser.ts';
import { makeCIFAR10Data, makeCIFAR10Uint8 } from '../src/data/splits.ts';
import type { SplitOptions } from '../src/data/splits.ts';

const show = (id: string, text: string | number): void => {
  const el = document.querySelector(`[data-testid="${id}"]`);
  if (el) el.textContent = String(text);
};
const params = new URLSearchParams(location.search);
let loads = 0;

/** Loads, then reports counts, histograms and a split check; one load at a time. */
async function run(opts: BrowserLoadOptions): Promise<void> {
  show('status', 'loading');
  show('error', '');
  const t0 = performance.now();
  try {
    const r = await loadCIFAR10InBrowser({
      ...opts,
      onProgress: (p) => show('progress', `${p.phase} ${p.received}${p.total ? ` / ${p.total}` : ''}`),
    });
    const ms = performance.now() - t0;
    const { train, test, classNames } = r.batches;
    const numTraining = Math.min(3000, train[0].count - 1);
    const numValidation = Math.min(1000, train[0].count - numTraining);
    const data = makeCIFAR10Data(makeCIFAR10Uint8(r.batches, { numTraining, numValidation, numTest: test.count }));
    let worst = 0;
    for (let p = 0; p < 3072; p++) {
      let s = 0;
      for (let i = 0; i < numTraining; i++) s += data.XTrain.data[i * 3072 + p];
      worst = Math.max(worst, Math.abs(s / numTraining));
    }
    show('source', r.source);
    show('cache-hit', String(r.cacheHit));
    show('train-batches', train.map((b) => `${b.name}:${b.count}`).join(' '));
    show(
      'train-count',
      train.reduce((s, b) => s + b.count, 0),
    );
    show('test-count', test.count);
    show('train-histogram', labelHistogram(train[0].labels).join(' '));
    show('test-histogram', labelHistogram(test.labels).join(' '));
    show('first-test-labels', [...test.labels.subarray(0, 10)].join(' '));
    show('class-names', classNames.join(' '));
    show('splits', `${data.XTrain.shape[0]} ${data.XVal.shape[0]} ${data.XTest.shape[0]} ${worst < 1e-3 ? 'mean~0' : `mean=${worst}`}`);
    show('load-ms', ms.toFixed(0));
    show('loads', ++loads);
    show('status', 'ready');
  } catch (e) {
    show('error', (e as Error).message);
    show('loads', ++loads);
    show('status', 'error');
  }
}

/** Median ms of parse + split + mean + float32 conversion of `get`'s files (what bench/data-bench.ts times in Node). */
function timeParsePreprocess(get: (n: string) => Uint8Array | undefined, split: SplitOptions, runs: number): number {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const data = makeCIFAR10Data(makeCIFAR10Uint8(parseCIFAR10Files(get, 'bench'), split));
    times.push(performance.now() - t0);
    if (data.XTrain.data.length === 0) throw new Error('empty');
  }
  const warm = times.slice(Math.min(2, runs - 1)).sort((a, b) => a - b);
  return warm[warm.length >> 1];
}

function tile(src: Uint8Array, records: number): Uint8Array {
  const out = new Uint8Array(records * RECORD_BYTES);
  for (let at = 0; at < out.length; at += src.length) out.set(src.subarray(0, Math.min(src.length, out.length - at)), at);
  return out;
}

async function bench(full: boolean): Promise<void> {
  show('status', 'benchmarking');
  const names = ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt'];
  const bytes = await Promise.all(names.map(async (n) => new Uint8Array(await (await fetch(`/data/cifar10/${n}`)).arrayBuffer())));
  const files = new Map(names.map((n, i) => [n, bytes[i]]));
  const sampleMs = timeParsePreprocess((n) => files.get(n), { numTraining: 3000, numValidation: 1000, numTest: 1000 }, 12);
  show('bench-sample-ms', sampleMs.toFixed(1));
  show('bench-scaled-ms', ((sampleMs * 60000) / 5000).toFixed(0));
  if (full) {
    const big = new Map([
      ['batches.meta.txt', files.get('batches.meta.txt')!],
      ['test_batch.bin', tile(files.get('test_batch.bin')!, 10000)],
    ]);
    for (let b = 1; b <= 5; b++) big.set(`data_batch_${b}.bin`, tile(files.get('data_batch_1.bin')!, 10000));
    show(
      'bench-full-ms',
      timeParsePreprocess((n) => big.get(n), { numTraining: 49000, numValidation: 1000, numTest: 10000 }, 4).toFixed(0),
    );
  }
  show('status', 'ready');
}

const input = document.querySelector<HTMLInputElement>('[data-testid="file-input"]')!;
input.addEventListener('change', () => {
  if (input.files?.length) void run({ files: Array.from(input.files) });
});
const drop = document.querySelector<HTMLElement>('[data-testid="drop-zone"]')!;
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer?.files.length) void run({ files: Array.from(e.dataTransfer.files) });
});

if (params.get('bench')) await bench(params.get('bench') === 'full');
if (params.get('auto') !== '0') await run({});
else show('status', 'idle');
