// Browser loading of CIFAR-10: .bin files from the dev server or dropped files (.tar.gz or .bin + meta), parsed as
// they stream in, cached in IndexedDB in the background (a cache that fails or stalls costs the cache, never the run).
import { readCIFAR10ArchiveBatches } from './archive.ts';
import { CIFAR10_FILES, META_FILE, RECORD_BYTES, TEST_FILE, TRAIN_FILES, contiguousTargets, createBatchParser, parseClassNames } from './cifar10.ts';
import type { BatchTarget, CIFAR10Batch, CIFAR10Batches } from './cifar10.ts';
import { cacheClear, cacheGet, cachePut } from './idb-cache.ts';
import type { CacheManifest } from './idb-cache.ts';

/** Progress of a browser load: which phase, bytes so far and in all (when known). */
export interface BrowserLoadProgress {
  phase: 'download' | 'read' | 'cache';
  received: number;
  total: number | undefined;
}

export interface BrowserLoadOptions {
  /** Where the dev server serves the .bin files (default `/data/cifar10/`); used when `files` is absent. */
  baseUrl?: string;
  /** Dropped or picked files: the .tar.gz archive, or the .bin files plus batches.meta.txt. */
  files?: File[] | FileList;
  onProgress?: (p: BrowserLoadProgress) => void;
  /** Use the IndexedDB cache (default true). */
  cache?: boolean;
  /** How long a cache read may take before the load goes on without it (default 15 s). */
  cacheReadTimeoutMs?: number;
  /** How long the background cache write may take before it is reported as failed (default 120 s). */
  cacheWriteTimeoutMs?: number;
}

/** How the background cache write ended: stored (with its time), or not, with the reason. */
export type CacheWriteOutcome = { stored: true; ms: number; manifest: CacheManifest } | { stored: false; reason: string };

/** The parsed batches, whether they came from the cache, what they came from, and the load's timings. */
export interface BrowserLoadResult {
  batches: CIFAR10Batches;
  cacheHit: boolean;
  source: string;
  key: string;
  /** Time spent parsing records (interleaved with the download; 0 for a cache hit). */
  parseMs: number;
  /** Wall time of the whole load. */
  loadMs: number;
  /** When cached: the cache's manifest (when it was stored). */
  cached?: CacheManifest;
  /** Why the cache was not used on this load, when it was on but missed for a reason other than "empty". */
  cacheNote?: string;
  /** The background cache write of a fresh load (resolves, never rejects); `{ stored: false }` when the cache is off or hit. */
  cacheWrite: Promise<CacheWriteOutcome>;
}

/** `p`, or a rejection naming `what` after `ms`; the work itself is not cancelled (it is only no longer waited for). */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(0)} s`}`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const isArchive = (f: File): boolean => /\.(tar\.gz|tgz)$/i.test(f.name);

async function notOk(url: string, res: Response): Promise<Error> {
  const body = res.status === 404 ? (await fetch(url).then((r) => r.text()).catch(() => '')).trim() : '';
  return new Error(`${url}: HTTP ${res.status} ${res.statusText}${body ? `: ${body}` : ''}`);
}

/** The server files that exist (HEAD): the required three, and data_batch_2.. while they exist. */
async function probeServer(baseUrl: string): Promise<{ name: string; url: string; size: number | undefined; version: string }[]> {
  // The dev server lists what it has; elsewhere (static hosting) fall back to HEAD requests.
  const base = new URL(baseUrl, location.href);
  const index = await fetch(new URL('index.json', base).href).catch(() => null);
  if (index?.ok && (index.headers.get('content-type') ?? '').includes('json')) {
    const listing = (await index.json()) as { dir: string | null; looked: string[]; files: { name: string; size: number; mtimeMs?: number }[] };
    const have = new Map(listing.files.map((f) => [f.name, f.size]));
    // which folder and which version of each file: the cache key must change when either does (same sizes!)
    const version = new Map(listing.files.map((f) => [f.name, `${listing.dir ?? ''}@${f.mtimeMs ?? '?'}`]));
    for (const name of [TRAIN_FILES[0], TEST_FILE, META_FILE]) {
      if (!have.has(name)) {
        throw new Error(`${new URL(name, base).href}: not on the dev server (it looked in ${listing.looked.join(', ')}). Put the files in data/cifar-10-batches-bin or set CIFAR10_DIR.`);
      }
    }
    return CIFAR10_FILES.filter((n) => have.has(n)).map((name) => ({ name, url: new URL(name, base).href, size: have.get(name), version: version.get(name)! }));
  }
  const heads = await Promise.all(CIFAR10_FILES.map(async (name) => {
    const url = new URL(name, new URL(baseUrl, location.href)).href;
    return { name, url, res: await fetch(url, { method: 'HEAD' }) };
  }));
  const found = [];
  for (const { name, url, res } of heads) {
    const optional = name !== TRAIN_FILES[0] && (TRAIN_FILES as readonly string[]).includes(name);
    if (!res.ok) {
      if (optional) continue;
      throw await notOk(url, res);
    }
    // a size only when the server says it for the bytes it sends (not for a compressed body)
    const header = res.headers.get('content-length');
    const length = header === null || res.headers.get('content-encoding') ? NaN : Number(header);
    const version = res.headers.get('etag') ?? res.headers.get('last-modified') ?? '?';
    found.push({ name, url, size: Number.isFinite(length) ? length : undefined, version });
  }
  return found;
}

/** One file to read: its name, size (when known) and a way to open its bytes as a stream. */
interface Source { name: string; size: number | undefined; open: () => Promise<ReadableStream<Uint8Array>> }

/**
 * Reads the files into batches, parsing each as it streams (training files straight into one buffer when their
 * sizes are known up front); `tick` counts bytes.
 */
async function parseSources(sources: Source[], where: string, tick: (n: number) => void, timing: { parseMs: number }): Promise<CIFAR10Batches> {
  const by = new Map(sources.map((f) => [f.name, f]));
  const need = (name: string): Source => {
    const f = by.get(name);
    if (!f) throw new Error(`${name}: not found in ${where}`);
    return f;
  };
  need(TRAIN_FILES[0]); need(TEST_FILE); need(META_FILE);
  const trainFiles: Source[] = [];
  for (const name of TRAIN_FILES) {
    const f = by.get(name);
    if (!f) break;
    trainFiles.push(f);
  }
  const sizes = trainFiles.map((f) => f.size);
  const targets: (BatchTarget | undefined)[] = sizes.every((n) => n !== undefined && n % RECORD_BYTES === 0)
    ? contiguousTargets(sizes as number[]) : [];
  const readBatch = async (f: Source, target: BatchTarget | undefined): Promise<CIFAR10Batch> => {
    const stream = await f.open();
    const chunks: Uint8Array[] = [];
    let parser = f.size !== undefined ? createBatchParser(f.name, f.size, target) : undefined;
    const reader = stream.getReader();
    let received = 0;
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        tick(r.value.length);
        received += r.value.length;
        if (!parser) { chunks.push(r.value); continue; }
        if (received > f.size!) throw new Error(`${f.name}: ${where} sent more than the ${f.size} bytes it announced`);
        const t0 = performance.now();
        parser.push(r.value);
        timing.parseMs += performance.now() - t0;
      }
    } catch (e) {
      await reader.cancel().catch(() => {}); // stop the download too
      throw e;
    }
    if (parser && received !== f.size) throw new Error(`${f.name}: ${where} sent ${received} bytes, it announced ${f.size}`);
    if (!parser) { // size unknown up front: parse once it is all here
      const size = chunks.reduce((n, c) => n + c.length, 0);
      parser = createBatchParser(f.name, size, undefined);
      for (const c of chunks.splice(0)) parser.push(c);
    }
    return parser.finish();
  };
  const train: CIFAR10Batch[] = [];
  for (const [k, f] of trainFiles.entries()) train.push(await readBatch(f, targets[k]));
  const test = await readBatch(need(TEST_FILE), undefined);
  const meta = await new Response(await need(META_FILE).open()).text();
  return { train, test, classNames: parseClassNames(meta, META_FILE) };
}

/**
 * Loads CIFAR-10 in the browser from the dev server (`baseUrl`) or from dropped `files`, parsing as the bytes
 * arrive. With the cache on, a dataset cached under the same key (source, file names and sizes) is read back
 * instead (a read that fails or stalls past `cacheReadTimeoutMs` is skipped and said in `cacheNote`); when the
 * server has no files, the cached dataset is used whatever its source. A fresh load is handed back at once and
 * cached in the background: `cacheWrite` says how that went.
 *   const { batches, cacheHit, cacheWrite } = await loadCIFAR10InBrowser({ onProgress: (p) => console.log(p) });
 *   const data = makeCIFAR10Data(makeCIFAR10Uint8(batches, { numTraining: 3000 }));
 */
export async function loadCIFAR10InBrowser(opts: BrowserLoadOptions = {}): Promise<BrowserLoadResult> {
  const started = performance.now();
  const useCache = opts.cache ?? true;
  const readTimeout = opts.cacheReadTimeoutMs ?? 15_000;
  const writeTimeout = opts.cacheWriteTimeoutMs ?? 120_000;
  const progress = opts.onProgress ?? (() => {});
  const files = opts.files ? Array.from(opts.files) : undefined;
  const notStored = (reason: string): Promise<CacheWriteOutcome> => Promise.resolve({ stored: false, reason });
  const fromCache = async (key: string | undefined): Promise<{ batches: CIFAR10Batches; manifest: CacheManifest } | undefined> => {
    progress({ phase: 'cache', received: 0, total: undefined });
    return bounded(cacheGet(key), readTimeout, 'reading the IndexedDB cache');
  };
  let source: string;
  let key: string;
  let load: (timing: { parseMs: number }) => Promise<CIFAR10Batches>;
  if (files) {
    if (files.length === 0) throw new Error('no files given: drop cifar-10-binary.tar.gz, or the .bin files with batches.meta.txt');
    source = `files: ${files.map((f) => f.name).join(', ')}`;
    key = `files: ${files.map((f) => `${f.name}:${f.size}:${f.lastModified}`).sort().join('|')}`;
    const total = files.reduce((s, f) => s + f.size, 0);
    let received = 0;
    const tick = (n: number): void => { received += n; progress({ phase: 'read', received, total }); };
    const archive = files.find(isArchive);
    load = async (timing) => {
      if (archive) {
        const counted = archive.stream().pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) { tick(chunk.length); c.enqueue(chunk); },
        }));
        const t0 = performance.now();
        const batches = await readCIFAR10ArchiveBatches(counted, archive.name);
        timing.parseMs = performance.now() - t0; // gunzip, tar and parse, streamed together
        return batches;
      }
      const where = `the given files (${source.slice(7)}; need ${TRAIN_FILES[0]}, ${TEST_FILE}, ${META_FILE})`;
      const sources = files.map((f) => ({ name: f.name, size: f.size, open: async () => f.stream() }));
      return parseSources(sources, where, tick, timing);
    };
  } else {
    const baseUrl = opts.baseUrl ?? '/data/cifar10/';
    let found: Awaited<ReturnType<typeof probeServer>>;
    try {
      found = await probeServer(baseUrl);
    } catch (e) {
      // no files on the server: what was cached (dropped files, another server) still trains
      const hit = useCache ? await fromCache(undefined).catch(() => undefined) : undefined;
      if (!hit) throw e;
      return {
        batches: hit.batches, cacheHit: true, source: hit.manifest.source, key: hit.manifest.key, parseMs: 0,
        loadMs: performance.now() - started, cached: hit.manifest,
        cacheNote: `the server has no CIFAR-10 files (${(e as Error).message}); using the cached copy`,
        cacheWrite: notStored('read from the cache'),
      };
    }
    source = `server: ${new URL(baseUrl, location.href).href}`;
    key = `${source}|${found.map((f) => `${f.name}:${f.size ?? '?'}:${f.version}`).join('|')}`;
    const total = found.every((f) => f.size !== undefined) ? found.reduce((s, f) => s + (f.size ?? 0), 0) : undefined;
    let received = 0;
    const tick = (n: number): void => { received += n; progress({ phase: 'download', received, total }); };
    const sources: Source[] = found.map((f) => ({
      name: f.name, size: f.size,
      async open() {
        const res = await fetch(f.url);
        if (!res.ok || !res.body) throw await notOk(f.url, res);
        return res.body;
      },
    }));
    load = (timing) => parseSources(sources, source, tick, timing);
  }
  let cacheNote: string | undefined;
  if (useCache) {
    try {
      const hit = await fromCache(key);
      if (hit) {
        return {
          batches: hit.batches, cacheHit: true, source, key, parseMs: 0, loadMs: performance.now() - started,
          cached: hit.manifest, cacheWrite: notStored('read from the cache'),
        };
      }
    } catch (e) {
      cacheNote = `the cache was not read: ${(e as Error).message}`;
    }
  }
  const timing = { parseMs: 0 };
  const batches = await load(timing);
  const loadMs = performance.now() - started;
  let cacheWrite = notStored(useCache ? 'not written' : 'the cache is off');
  if (useCache) {
    const t0 = performance.now();
    cacheWrite = bounded(cachePut(key, source, batches), writeTimeout, 'writing the IndexedDB cache (it may still complete)').then(
      (manifest): CacheWriteOutcome => ({ stored: true, ms: performance.now() - t0, manifest }),
      (e): CacheWriteOutcome => ({ stored: false, reason: (e as Error).message }),
    );
  }
  return { batches, cacheHit: false, source, key, parseMs: timing.parseMs, loadMs, cacheNote, cacheWrite };
}

/**
 * Forgets the dataset cached in IndexedDB, so the next load downloads and parses again.
 *   await clearCIFAR10Cache();
 *   (await loadCIFAR10InBrowser()).cacheHit; // false
 */
export function clearCIFAR10Cache(): Promise<void> {
  return cacheClear();
}
