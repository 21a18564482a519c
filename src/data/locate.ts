// Node-only: where the CIFAR-10 files come from (dir option, $CIFAR10_DIR, data/, the cached archive, a download) and reading them.
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { join, resolve } from 'node:path';
import { cifar10FilesFromTar, type TarConsumer } from './archive.ts';
import { parseCIFAR10Files } from './cifar10.ts';
import type { CIFAR10Batches } from './cifar10.ts';
import { ARCHIVE_FILE, NO_DATA_HINT, downloadCIFAR10 } from './download.ts';
import type { DownloadOptions } from './download.ts';

/** The folder name inside the archive, and inside the cache folder once extracted. */
export const BATCHES_DIR = 'cifar-10-batches-bin';

export interface LocateOptions extends Omit<DownloadOptions, 'dir'> {
  /** A folder holding data_batch_*.bin, test_batch.bin, batches.meta.txt; wins over everything. */
  dir?: string;
  /** Cache folder for the extracted files and the archive (default `data`). */
  cacheDir?: string;
  /** Download when nothing is found (default true). */
  download?: boolean;
  /** Where the "which source" messages go (default stderr). */
  log?: (message: string) => void;
}

/** A folder with the .bin files, how it was found, and the message that said so. */
export interface CIFAR10Location {
  dir: string;
  source: 'option' | 'env' | 'cache' | 'archive' | 'download';
  message: string;
}

function folder(dir: string, why: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new Error(`${why} ${dir}: no such folder`);
  return abs;
}

/**
 * Feeds a .tar.gz from disk through zlib into a tar consumer, with backpressure: the archive is never held
 * whole (Node's DecompressionStream reads ahead without bound: 141 MiB were live at once for the 176 MiB
 * archive, against a few MiB here).
 *   const batches = await readArchiveFile('data/cifar-10-binary.tar.gz', cifar10BatchesFromTar('data/cifar-10-binary.tar.gz'));
 *   batches.train.length; // 5
 */
export async function readArchiveFile<T>(path: string, consumer: TarConsumer<T>): Promise<T> {
  try {
    // pipeline passes a read error on (a plain pipe would leave it unhandled) and closes the file either way
    await pipeline(createReadStream(path), createGunzip(), async (source: AsyncIterable<Uint8Array>) => {
      for await (const chunk of source) consumer.push(chunk);
    });
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('Z_')) throw new Error(`${path}: not a readable gzip file (${(e as Error).message})`, { cause: e });
    throw e;
  }
  consumer.end();
  return consumer.result();
}

/**
 * Unpacks the CIFAR-10 files of an archive into `dest` (via `dest.partial`, renamed when complete).
 *   await extractCIFAR10Archive('data/cifar-10-binary.tar.gz', 'data/cifar-10-batches-bin');
 *   existsSync('data/cifar-10-batches-bin/test_batch.bin'); // true
 */
export async function extractCIFAR10Archive(archive: string, dest: string): Promise<void> {
  // streamed from disk: the archive is never held whole, only the CIFAR-10 files it holds
  const files = await readArchiveFile(archive, cifar10FilesFromTar(archive));
  const tmp = `${dest}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, data] of files) writeFileSync(join(tmp, name), data);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
}

/**
 * Finds (and when needed extracts or downloads) the folder of .bin files, in this order: `dir`,
 * $CIFAR10_DIR, `<cacheDir>/cifar-10-batches-bin`, `<cacheDir>/cifar-10-binary.tar.gz`, download.
 *   const { dir, message } = await locateCIFAR10({ dir: '../shared/cifar10' });
 *   // message: 'CIFAR-10: reading /work/shared/cifar10 (dir option)'
 */
export async function locateCIFAR10(opts: LocateOptions = {}): Promise<CIFAR10Location> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const found = (dir: string, source: CIFAR10Location['source'], message: string): CIFAR10Location => {
    log(message);
    return { dir, source, message };
  };
  if (opts.dir !== undefined) {
    const dir = folder(opts.dir, 'dir option');
    return found(dir, 'option', `CIFAR-10: reading ${dir} (dir option)`);
  }
  const env = process.env.CIFAR10_DIR;
  if (env) {
    const dir = folder(env, 'CIFAR10_DIR=');
    return found(dir, 'env', `CIFAR-10: reading ${dir} (CIFAR10_DIR)`);
  }
  const cache = resolve(opts.cacheDir ?? 'data');
  const dir = join(cache, BATCHES_DIR);
  if (existsSync(dir)) return found(dir, 'cache', `CIFAR-10: reading ${dir}`);
  const archive = join(cache, ARCHIVE_FILE);
  if (existsSync(archive)) {
    await extractCIFAR10Archive(archive, dir);
    return found(dir, 'archive', `CIFAR-10: extracted ${archive} to ${dir}`);
  }
  if (opts.download === false) {
    throw new Error(`CIFAR-10: found neither ${dir} nor ${archive}, and download is off. ${NO_DATA_HINT}`);
  }
  log(`CIFAR-10: found neither ${dir} nor ${archive}; downloading`);
  const { url, md5, onProgress, progressBar } = opts;
  const path = await downloadCIFAR10({ url, md5, onProgress, progressBar, dir: cache });
  await extractCIFAR10Archive(path, dir);
  return found(dir, 'download', `CIFAR-10: downloaded ${path} and extracted it to ${dir}`);
}

/**
 * Reads and parses the files of a folder, training batches only as far as `needTrain` records.
 *   const batches = readCIFAR10Dir('/work/shared/cifar10');
 *   batches.train[0].count; // 4000
 */
export function readCIFAR10Dir(dir: string, needTrain: number = Infinity): CIFAR10Batches {
  const get = (name: string): Uint8Array | undefined => {
    const path = join(dir, name);
    return existsSync(path) ? readFileSync(path) : undefined;
  };
  return parseCIFAR10Files(get, dir, needTrain);
}

/**
 * The dev server's lookup (no archive, no download): $CIFAR10_DIR, else `<root>/data/cifar-10-batches-bin`.
 *   const { dir, looked } = findCIFAR10Dir(process.cwd());
 *   dir ?? console.error(`no CIFAR-10 files; looked in ${looked.join(', ')}`);
 */
export function findCIFAR10Dir(root: string = process.cwd()): { dir: string | undefined; looked: string[] } {
  const env = process.env.CIFAR10_DIR;
  const candidate = env ? resolve(root, env) : join(resolve(root), 'data', BATCHES_DIR);
  const looked = [env ? `${candidate} (CIFAR10_DIR)` : candidate];
  return { dir: existsSync(candidate) ? candidate : undefined, looked };
}
