// The dataset panel: CIFAR-10 from the dev server or dropped files (cached in IndexedDB), split as the seed does.
import { loadCIFAR10InBrowser, makeCIFAR10Uint8, type CIFAR10Uint8 } from '../src/index.ts';
import type { SolverData } from '../src/index.ts';
import { byTestId, formatBytes } from './dom.ts';
import { experimentSplits, makeSolverData } from './experiments/common.ts';

/** 312 -> "0.3 s". */
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Loaded splits plus where they came from. */
export interface Dataset {
  u8: CIFAR10Uint8;
  source: string;
  cacheHit: boolean;
}

/**
 * The Solver's data for a run from the loaded splits (demo/experiments/common.ts makeSolverData).
 *   const data = solverDataOf(dataset, 1000, 1000);
 */
export function solverDataOf(ds: Dataset, numTrain: number, numVal: number): SolverData {
  return makeSolverData(ds.u8, numTrain, numVal);
}

const hint =
  'Put the CIFAR-10 binary files (data_batch_*.bin, test_batch.bin, batches.meta.txt) in data/cifar-10-batches-bin ' +
  'or start the server with CIFAR10_DIR=/path/to/them, or drop cifar-10-binary.tar.gz (or the .bin files) on this box.';

/**
 * Wires the dataset box: loads from `dataUrl` (default the dev server) at once, or from files dropped/picked;
 * `latest()` resolves to the dataset a run should use: the one a load in progress (a drop) is about to give,
 * else the last one loaded, else the first that loads.
 *   const ds = createDatasetPanel(document.querySelector('#dataset')!, null);
 *   const dataset = await ds.latest();
 */
export function createDatasetPanel(
  root: HTMLElement,
  dataUrl: string | null,
): { latest: () => Promise<Dataset>; current: () => Dataset | null } {
  const status = byTestId(root, 'dataset-status');
  const bar = byTestId(root, 'dataset-progress') as HTMLProgressElement;
  const input = root.querySelector<HTMLInputElement>('input[type=file]')!;
  let current: Dataset | null = null;
  let resolveReady!: (d: Dataset) => void;
  const ready = new Promise<Dataset>((r) => {
    resolveReady = r;
  });

  const cacheBox = byTestId(root, 'dataset-cache');
  const setCache = (state: string, text: string): void => {
    cacheBox.dataset.state = state;
    cacheBox.textContent = text;
  };
  let loads = 0;
  let loading: Promise<void> = Promise.resolve();
  const load = (files?: File[]): void => {
    loading = loadNow(files);
  };
  const loadNow = async (files?: File[]) => {
    const n = ++loads;
    status.textContent = 'loading CIFAR-10…';
    status.dataset.state = 'loading';
    setCache('none', '');
    bar.removeAttribute('value');
    try {
      const res = await loadCIFAR10InBrowser({
        baseUrl: dataUrl ?? undefined,
        files,
        onProgress: (p) => {
          if (n !== loads) return; // a newer load (a drop) owns the box
          if (p.total) {
            bar.max = p.total;
            bar.value = p.received;
          }
          const amount = p.total ? `${formatBytes(p.received)} of ${formatBytes(p.total)}` : p.received ? formatBytes(p.received) : '';
          status.textContent =
            p.phase === 'cache' ? 'CIFAR-10: reading the IndexedDB cache…' : `CIFAR-10: ${p.phase}${amount ? ` ${amount}` : ''}…`;
        },
      });
      if (n !== loads) return; // a newer load (a drop) was started meanwhile: its data wins, whichever ends first
      const held = res.batches.train.reduce((s, b) => s + b.count, 0);
      // the seed's get_CIFAR10_data: 49000 training + the next 1000 for validation (fewer training images from a sample);
      // views of the loaded buffers, not copies: the page holds one copy of the pixels
      const u8 = makeCIFAR10Uint8(res.batches, experimentSplits(held, res.batches.test.count));
      current = { u8, source: res.source, cacheHit: res.cacheHit };
      bar.max = 1;
      bar.value = 1;
      status.dataset.state = 'ready';
      status.dataset.source = res.cacheHit ? 'cache' : 'fresh';
      status.textContent =
        `CIFAR-10 ready: ${u8.train.count} training, ${u8.val.count} validation, ${u8.test.count} test images ` +
        `(${res.source}${res.cacheHit ? ', from the IndexedDB cache' : ''}; ${seconds(res.loadMs)})`;
      if (res.cacheHit) {
        setCache(
          'hit',
          `Read from the IndexedDB cache (stored ${new Date(res.cached!.storedAt).toLocaleString()}, ${formatBytes(res.cached!.bytes)}): ` +
            `no download and no parse this time${res.cacheNote ? `; ${res.cacheNote}` : ''}.`,
        );
      } else {
        setCache(
          'writing',
          `${res.cacheNote ? `${res.cacheNote}. ` : ''}${files ? 'Read' : 'Downloaded'} and parsed in ${seconds(res.loadMs)}; caching in IndexedDB for the next load…`,
        );
        void res.cacheWrite.then((w) => {
          if (n !== loads) return; // a newer load owns the box
          if (w.stored)
            setCache(
              'stored',
              `Cached in IndexedDB (${formatBytes(w.manifest.bytes)} in ${seconds(w.ms)}): the next load skips the download and the parse.`,
            );
          else setCache('failed', `Not cached (${w.reason}): the next load downloads and parses again. Training is not affected.`);
        });
      }
      resolveReady(current);
    } catch (e) {
      if (n !== loads) return;
      bar.max = 1;
      bar.value = 0;
      status.dataset.state = 'error';
      status.textContent = `CIFAR-10 not loaded: ${(e as Error).message.replace(/\.$/, '')}. ${hint}`;
    }
  };

  input.addEventListener('change', () => {
    if (input.files?.length) load(Array.from(input.files));
  });
  root.addEventListener('dragover', (e) => {
    e.preventDefault();
    root.classList.add('drop');
  });
  root.addEventListener('dragleave', () => root.classList.remove('drop'));
  root.addEventListener('drop', (e) => {
    e.preventDefault();
    root.classList.remove('drop');
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length) load(files);
  });
  load();
  // a load that fails leaves the previous dataset in use (or keeps waiting for the first one)
  const latest = async (): Promise<Dataset> => {
    await loading;
    return current ?? ready;
  };
  return { latest, current: () => current };
}
