// Browser loading of CIFAR-10: .bin files from the dev server or dropped files (.tar.gz or .bin + meta), cached parsed in IndexedDB.
import { readCIFAR10Archive } from './archive.ts';
import { CIFAR10_FILES, META_FILE, TEST_FILE, TRAIN_FILES, parseCIFAR10Files } from './cifar10.ts';
import type { CIFAR10Batches } from './cifar10.ts';
import { cacheClear, cacheGet, cachePut } from './idb-cache.ts';

/** Progress of a browser load: which phase, bytes so far and in all (when known). */
export interface BrowserLoadProgress {
  phase: 'download' | 'read' | 'parse' | 'cache';
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
}

/** The parsed batches, whether they came from the cache, what they came from, and the parse time. */
export interface BrowserLoadResult {
  batches: CIFAR10Batches;
  cacheHit: boolean;
  source: string;
  key: string;
  parseMs: number;
}

const isArchive = (f: File): boolean => /\.(tar\.gz|tgz)$/i.test(f.name);

async function readAll(body: ReadableStream<Uint8Array>, onChunk: (n: number) => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    chunks.push(r.value);
    size += r.value.length;
    onChunk(r.value.length);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

async function notOk(url: string, res: Response): Promise<Error> {
  const body = res.status === 404 ? (await fetch(url).then((r) => r.text()).catch(() => '')).trim() : '';
  return new Error(`${url}: HTTP ${res.status} ${res.statusText}${body ? `: ${body}` : ''}`);
}

/** The server files that exist (HEAD): the required three, and data_batch_2.. while they exist. */
async function probeServer(baseUrl: string): Promise<{ name: string; url: string; size: number | undefined }[]> {
  // The dev server lists what it has; elsewhere (static hosting) fall back to HEAD requests.
  const base = new URL(baseUrl, location.href);
  const index = await fetch(new URL('index.json', base).href).catch(() => null);
  if (index?.ok && (index.headers.get('content-type') ?? '').includes('json')) {
    const listing = (await index.json()) as { looked: string[]; files: { name: string; size: number }[] };
    const have = new Map(listing.files.map((f) => [f.name, f.size]));
    for (const name of [TRAIN_FILES[0], TEST_FILE, META_FILE]) {
      if (!have.has(name)) {
        throw new Error(`${new URL(name, base).href}: not on the dev server (it looked in ${listing.looked.join(', ')}). Put the files in data/cifar-10-batches-bin or set CIFAR10_DIR.`);
      }
    }
    return CIFAR10_FILES.filter((n) => have.has(n)).map((name) => ({ name, url: new URL(name, base).href, size: have.get(name) }));
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
    const length = Number(res.headers.get('content-length'));
    found.push({ name, url, size: Number.isFinite(length) ? length : undefined });
  }
  return found;
}

/**
 * Loads and parses CIFAR-10 in the browser from the dev server (`baseUrl`) or from dropped `files`;
 * the parsed batches are cached in IndexedDB keyed by source and file sizes, so a reload skips both.
 *   const { batches, cacheHit } = await loadCIFAR10InBrowser({ onProgress: (p) => console.log(p) });
 *   const data = makeCIFAR10Data(makeCIFAR10Uint8(batches, { numTraining: 3000 }));
 */
export async function loadCIFAR10InBrowser(opts: BrowserLoadOptions = {}): Promise<BrowserLoadResult> {
  const useCache = opts.cache ?? true;
  const progress = opts.onProgress ?? (() => {});
  const files = opts.files ? Array.from(opts.files) : undefined;
  let source: string;
  let key: string;
  let load: () => Promise<(name: string) => Uint8Array | undefined>;
  if (files) {
    if (files.length === 0) throw new Error('no files given: drop cifar-10-binary.tar.gz, or the .bin files with batches.meta.txt');
    source = `files: ${files.map((f) => f.name).join(', ')}`;
    key = `files: ${files.map((f) => `${f.name}:${f.size}:${f.lastModified}`).sort().join('|')}`;
    const total = files.reduce((s, f) => s + f.size, 0);
    load = async () => {
      let received = 0;
      const tick = (n: number): void => { received += n; progress({ phase: 'read', received, total }); };
      const archive = files.find(isArchive);
      if (archive) {
        const counted = archive.stream().pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) { tick(chunk.length); c.enqueue(chunk); },
        }));
        const map = await readCIFAR10Archive(counted, archive.name);
        return (n) => map.get(n);
      }
      const map = new Map<string, Uint8Array>();
      for (const f of files) map.set(f.name, await readAll(f.stream(), tick));
      return (n) => map.get(n);
    };
  } else {
    const baseUrl = opts.baseUrl ?? '/data/cifar10/';
    const found = await probeServer(baseUrl);
    source = `server: ${new URL(baseUrl, location.href).href}`;
    key = `${source}|${found.map((f) => `${f.name}:${f.size ?? '?'}`).join('|')}`;
    const total = found.every((f) => f.size !== undefined) ? found.reduce((s, f) => s + (f.size ?? 0), 0) : undefined;
    load = async () => {
      let received = 0;
      const map = new Map<string, Uint8Array>();
      for (const f of found) {
        const res = await fetch(f.url);
        if (!res.ok || !res.body) throw await notOk(f.url, res);
        map.set(f.name, await readAll(res.body, (n) => { received += n; progress({ phase: 'download', received, total }); }));
      }
      return (n) => map.get(n);
    };
  }
  if (useCache) {
    progress({ phase: 'cache', received: 0, total: undefined });
    const hit = await cacheGet(key).catch(() => undefined);
    if (hit) return { batches: hit, cacheHit: true, source, key, parseMs: 0 };
  }
  const get = await load();
  progress({ phase: 'parse', received: 0, total: undefined });
  const t0 = performance.now();
  const where = files ? `the given files (${source.slice(7)}; need ${TRAIN_FILES[0]}, ${TEST_FILE}, ${META_FILE})` : source;
  const batches = parseCIFAR10Files(get, where);
  const parseMs = performance.now() - t0;
  if (useCache) {
    progress({ phase: 'cache', received: 0, total: undefined });
    // a full quota or a private window must not stop the load: the next one simply parses again
    await cachePut(key, batches).catch((e) => console.warn(`CIFAR-10 not cached in IndexedDB: ${(e as Error).message}`));
  }
  return { batches, cacheHit: false, source, key, parseMs };
}

/**
 * Forgets the dataset cached in IndexedDB, so the next load downloads and parses again.
 *   await clearCIFAR10Cache();
 *   (await loadCIFAR10InBrowser()).cacheHit; // false
 */
export function clearCIFAR10Cache(): Promise<void> {
  return cacheClear();
}
