// Node-only download of the official CIFAR-10 archive: progress on stderr, MD5 check, .partial file then atomic rename.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Where the archive comes from unless `url` or $CIFAR10_URL says otherwise. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** MD5 of the official archive (from the dataset page). */
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** The archive's file name in the cache folder. */
export const ARCHIVE_FILE = 'cifar-10-binary.tar.gz';

/** A progress report: bytes so far, total (from Content-Length, when sent), bytes per second. */
export interface DownloadProgress {
  received: number;
  total: number | undefined;
  rate: number;
}

export interface DownloadOptions {
  /** Source URL; default $CIFAR10_URL, else CIFAR10_URL. */
  url?: string;
  /** Cache folder; default `data`. The archive lands in `<dir>/cifar-10-binary.tar.gz`. */
  dir?: string;
  /** Expected MD5 (hex); default CIFAR10_MD5. */
  md5?: string;
  /** Called at most every 100 ms and once at the end. */
  onProgress?: (p: DownloadProgress) => void;
  /** Draw the progress bar on stderr (default true). */
  progressBar?: boolean;
}

const units = ['B', 'kB', 'MB', 'GB'];
function human(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/**
 * One line of the progress bar: bytes, percentage and bar (when the total is known), rate, ETA.
 *   formatProgress({ received: 81e6, total: 162e6, rate: 5e6 });
 *   // ' 81.0 MB / 162.0 MB   50% [##########----------]  5.0 MB/s  ETA 17s'
 */
export function formatProgress(p: DownloadProgress): string {
  const rate = `${human(p.rate)}/s`;
  if (!p.total) return ` ${human(p.received)}  ${rate}`;
  const f = Math.min(1, p.received / p.total);
  const bar = '#'.repeat(Math.round(f * 20)).padEnd(20, '-');
  const eta = p.rate > 0 ? `${Math.ceil((p.total - p.received) / p.rate)}s` : '?';
  return ` ${human(p.received)} / ${human(p.total)}  ${String(Math.floor(f * 100)).padStart(3)}% [${bar}]  ${rate}  ETA ${eta}`;
}

/** The hint every "cannot get the data" message ends with. */
export const NO_DATA_HINT = 'Put the CIFAR-10 files in data/cifar-10-batches-bin or set CIFAR10_DIR';

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.message || err.cause?.code || err.message; // undici: 'fetch failed' / 'terminated' wrap the real cause
}

/**
 * Downloads the archive to `<dir>/cifar-10-binary.tar.gz` (via `.partial`, renamed only after the
 * MD5 matches) and returns its path; failures remove the partial file and say what to do.
 *   const path = await downloadCIFAR10({ dir: 'data' });
 *   // stderr: cifar-10-binary.tar.gz 81.0 MB / 162.0 MB   50% [##########----------]  5.0 MB/s  ETA 17s
 */
export async function downloadCIFAR10(opts: DownloadOptions = {}): Promise<string> {
  const url = opts.url ?? process.env.CIFAR10_URL ?? CIFAR10_URL;
  const dir = opts.dir ?? 'data';
  const expected = (opts.md5 ?? CIFAR10_MD5).toLowerCase();
  const dest = join(dir, ARCHIVE_FILE);
  const partial = `${dest}.partial`;
  const bar = opts.progressBar ?? true;
  const tty = process.stderr.isTTY;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not reach ${url}: ${causeOf(e)}. ${NO_DATA_HINT}`, { cause: e });
  }
  if (!response.ok || !response.body) {
    throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}. ${NO_DATA_HINT}`);
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  mkdirSync(dir, { recursive: true });
  const file = await open(partial, 'w');
  const md5 = createHash('md5');
  const t0 = performance.now();
  let received = 0;
  let last = 0;
  let lastLine = -1;
  const report = (final: boolean): void => {
    const now = performance.now();
    if (!final && now - last < 100) return;
    last = now;
    const p = { received, total, rate: received / Math.max(1e-3, (now - t0) / 1000) };
    opts.onProgress?.(p);
    if (!bar) return;
    const line = `${basename(dest)}${formatProgress(p)}`;
    if (tty) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
    else {
      // not a terminal (a CI log): one line per 10% (or 16 MB when the size is unknown)
      const step = Math.floor(total ? (10 * received) / total : received / 16e6);
      if (step > lastLine) process.stderr.write(`${line}\n`);
      lastLine = step;
    }
  };
  try {
    try {
      const reader = response.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        const chunk = r.value;
        md5.update(chunk);
        await file.write(chunk);
        received += chunk.length;
        report(false);
      }
    } finally {
      await file.close();
    }
    report(true);
    if (total !== undefined && received !== total) throw new Error(`got ${received} of ${total} bytes`);
  } catch (e) {
    rmSync(partial, { force: true });
    if (bar && tty) process.stderr.write('\n');
    throw new Error(`download of ${url} interrupted after ${received} bytes: ${causeOf(e)}. ${NO_DATA_HINT}`, { cause: e });
  }
  const got = md5.digest('hex');
  if (got !== expected) {
    rmSync(partial, { force: true });
    throw new Error(`${basename(dest)} from ${url}: MD5 ${got} does not match the expected ${expected}; the file was removed. ${NO_DATA_HINT}`);
  }
  renameSync(partial, dest);
  return dest;
}
