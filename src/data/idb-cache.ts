// A one-entry IndexedDB cache of parsed CIFAR-10 batches (db `webgpu-batchnorm`, store `cifar10`), browser only.
import type { CIFAR10Batches } from './cifar10.ts';

const DB_NAME = 'webgpu-batchnorm';
const STORE = 'cifar10';

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

async function withStore<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openStore();
  try {
    const tx = db.transaction(STORE, mode);
    const complete = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    complete.catch(() => {}); // reported through `done` or the await below
    const result = await done(f(tx.objectStore(STORE)));
    await complete;
    return result;
  } finally {
    db.close();
  }
}

/**
 * The cached batches under `key`, or undefined.
 *   const hit = await cacheGet('server: http://127.0.0.1:5173/data/cifar10/|data_batch_1.bin:12292000|...');
 *   if (hit) console.log(hit.train.length);
 */
export async function cacheGet(key: string): Promise<CIFAR10Batches | undefined> {
  return (await withStore('readonly', (s) => s.get(key))) as CIFAR10Batches | undefined;
}

/**
 * Stores `batches` under `key`, replacing whatever was cached (one dataset at a time: the full one is 184 MB).
 *   await cachePut(key, batches);
 *   (await cacheGet(key))?.test.count; // 10000
 */
export async function cachePut(key: string, batches: CIFAR10Batches): Promise<void> {
  await withStore('readwrite', (s) => {
    s.clear();
    return s.put(batches, key);
  });
}

/**
 * Empties the cache.
 *   await cacheClear();
 *   await cacheGet(key); // undefined
 */
export async function cacheClear(): Promise<void> {
  await withStore('readwrite', (s) => s.clear());
}
