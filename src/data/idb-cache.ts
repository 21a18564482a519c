// The IndexedDB cache of the parsed CIFAR-10 batches (db `webgpu-batchnorm`, store `cifar10`), browser only.
//
// One dataset at a time, as Blobs: a manifest record plus four Blobs (training images, training labels, test
// images, test labels), all written in one transaction so a reload sees all of it or nothing. Blobs, because a
// structured-clone value is capped (Chromium: 133 MB; the full training set is 154 MB, which is what hung the
// old single-record cache) while a Blob is stored as a file: 184 MB went in, in 0.3 s, and came back in 0.2 s
// in headless Chromium here (IndexedDB with one Uint8Array a file: 1.1 s / 0.8 s; the Cache API holding the
// files: 1.1 s / 0.3 s; OPFS: 1.1 s / 0.3 s).
import { IMAGE_BYTES, RECORD_BYTES } from './cifar10.ts';
import type { CIFAR10Batches } from './cifar10.ts';

const DB_NAME = 'webgpu-batchnorm';
const STORE = 'cifar10';
const MANIFEST = 'manifest';
const FORMAT = 2;

/** What the cache says about the dataset it holds. */
export interface CacheManifest {
  format: number;
  /** The load key: the source plus its files' names and sizes. */
  key: string;
  /** Where the data came from, in words (`server: ...`, `files: ...`). */
  source: string;
  storedAt: string;
  train: { name: string; count: number }[];
  test: { name: string; count: number };
  classNames: string[];
  bytes: number;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, version);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => {
      req.result.onversionchange = () => req.result.close();
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error(`IndexedDB ${DB_NAME} is open elsewhere at an older version; close other tabs`));
  });
}

/** Opens the db; other modules may share it, so the store is added by a version bump when missing. */
async function openStore(): Promise<IDBDatabase> {
  const db = await openDb();
  if (db.objectStoreNames.contains(STORE)) return db;
  const next = db.version + 1;
  db.close();
  return openDb(next);
}

/** Runs `f` in one transaction and resolves when it has committed (a write is durable then). */
async function withStore<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => Promise<T>): Promise<T> {
  const db = await openStore();
  try {
    const tx = db.transaction(STORE, mode);
    const complete = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    complete.catch(() => {}); // reported through `f` or the await below
    const result = await f(tx.objectStore(STORE));
    await complete;
    return result;
  } finally {
    db.close();
  }
}

/**
 * The manifest of the cached dataset, or undefined when the cache is empty (or holds an older format).
 *   const m = await cacheManifest();
 *   m?.source; // 'server: http://127.0.0.1:5173/data/cifar10/'
 */
export async function cacheManifest(): Promise<CacheManifest | undefined> {
  const m = (await withStore('readonly', (s) => done(s.get(MANIFEST)))) as CacheManifest | undefined;
  return m?.format === FORMAT ? m : undefined;
}

/**
 * The cached batches when the cache holds `key` (any cached dataset when `key` is undefined), else undefined;
 * the training batches come back as views of one buffer.
 *   const hit = await cacheGet('server: http://127.0.0.1:5173/data/cifar10/|data_batch_1.bin:12292000|...');
 *   if (hit) console.log(hit.manifest.storedAt, hit.batches.train.length);
 */
export async function cacheGet(key?: string): Promise<{ batches: CIFAR10Batches; manifest: CacheManifest } | undefined> {
  const got = await withStore('readonly', async (s) => {
    const manifest = (await done(s.get(MANIFEST))) as CacheManifest | undefined;
    if (!manifest || manifest.format !== FORMAT || (key !== undefined && manifest.key !== key)) return undefined;
    const blobs = (await Promise.all(['trainImages', 'trainLabels', 'testImages', 'testLabels'].map((k) => done(s.get(k))))) as Blob[];
    return { manifest, blobs };
  });
  if (!got) return undefined;
  const { manifest, blobs } = got;
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(blobs.map(async (b) => new Uint8Array(await b.arrayBuffer())));
  const trainCount = manifest.train.reduce((n, b) => n + b.count, 0);
  if (trainImages!.length !== trainCount * IMAGE_BYTES || trainLabels!.length !== trainCount
    || testImages!.length !== manifest.test.count * IMAGE_BYTES || testLabels!.length !== manifest.test.count) {
    throw new Error(`the IndexedDB cache of ${manifest.source} is damaged (sizes do not match its manifest)`);
  }
  // the batches as they were stored: one after another in the training buffers
  let at = 0;
  const train = manifest.train.map(({ name, count }) => {
    const batch = { name, count, labels: trainLabels!.subarray(at, at + count), images: trainImages!.subarray(at * IMAGE_BYTES, (at + count) * IMAGE_BYTES) };
    at += count;
    return batch;
  });
  return {
    manifest,
    batches: { train, test: { name: manifest.test.name, count: manifest.test.count, labels: testLabels!, images: testImages! }, classNames: manifest.classNames },
  };
}

/**
 * Stores `batches` under `key`, replacing whatever was cached (one dataset at a time: the full one is 184 MB).
 *   await cachePut(key, 'server: http://127.0.0.1:5173/data/cifar10/', batches);
 *   (await cacheGet(key))?.batches.test.count; // 10000
 */
export async function cachePut(key: string, source: string, batches: CIFAR10Batches): Promise<CacheManifest> {
  const { train, test } = batches;
  const manifest: CacheManifest = {
    format: FORMAT, key, source, storedAt: new Date().toISOString(),
    train: train.map((b) => ({ name: b.name, count: b.count })), test: { name: test.name, count: test.count },
    classNames: batches.classNames.slice(),
    bytes: (train.reduce((n, b) => n + b.count, 0) + test.count) * RECORD_BYTES,
  };
  const blob = (parts: Uint8Array[]): Blob => new Blob(parts as Uint8Array<ArrayBuffer>[]);
  const records: [string, unknown][] = [
    ['trainImages', blob(train.map((b) => b.images))], ['trainLabels', blob(train.map((b) => b.labels))],
    ['testImages', blob([test.images])], ['testLabels', blob([test.labels])], [MANIFEST, manifest],
  ];
  await withStore('readwrite', async (s) => {
    s.clear();
    await Promise.all(records.map(([k, v]) => done(s.put(v, k))));
  });
  return manifest;
}

/**
 * Empties the cache.
 *   await cacheClear();
 *   await cacheGet(); // undefined
 */
export async function cacheClear(): Promise<void> {
  await withStore('readwrite', (s) => done(s.clear()));
}
