// A CIFAR-10 folder of the real size (5 x 10000 training + 10000 test records, 184 MB) made of seeded random pixels, for full-scale tests.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Records per official batch file, and the record layout (label byte + 3072 pixel bytes). */
export const FULL_RECORDS = 10000;
const RECORD = 3073;
const FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const CLASS_NAMES = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';

/** xorshift32 words: fast and seeded, so two runs (and the page and Node) see the same bytes. */
function fillRandom(bytes: Uint8Array, seed: number): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    words[i] = s;
  }
  for (let i = words.length * 4; i < bytes.length; i++) bytes[i] = i & 0xff;
}

/**
 * One batch file's bytes: `records` records, label of record i = (i * 7 + seed) % 10, pixels random.
 *   const bytes = makeBatchBytes(10000, 3);
 *   bytes.length === 10000 * 3073;
 */
export function makeBatchBytes(records: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(records * RECORD);
  fillRandom(bytes, 0x9e3779b9 ^ (seed * 2654435761));
  for (let i = 0; i < records; i++) bytes[i * RECORD] = (i * 7 + seed) % 10;
  return bytes;
}

/** Where the full-size set is made (the e2e dev server serves it at /data/cifar10-full/). */
export const fullSizeRoot = join(tmpdir(), 'webgpu-batchnorm-cifar10-full');
export const fullSizeDir = join(fullSizeRoot, 'cifar-10-batches-bin');

/**
 * Writes (once; reused while it is complete) a full-size CIFAR-10 folder under the temp dir and returns its path.
 *   const dir = makeFullSizeCIFAR10();
 *   statSync(join(dir, 'data_batch_5.bin')).size === 30730000;
 */
export function makeFullSizeCIFAR10(root: string = fullSizeRoot): string {
  const dir = join(root, 'cifar-10-batches-bin');
  const complete =
    existsSync(join(dir, 'batches.meta.txt')) &&
    FILES.every((f) => existsSync(join(dir, f)) && statSync(join(dir, f)).size === FULL_RECORDS * RECORD);
  if (complete) return dir;
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  FILES.forEach((f, k) => writeFileSync(join(tmp, f), makeBatchBytes(FULL_RECORDS, k + 1)));
  writeFileSync(join(tmp, 'batches.meta.txt'), CLASS_NAMES);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/**
 * The seed's split statistics computed straight from the files (an independent reading, not the parser):
 * the per-pixel mean of the first `numTraining` training records, in float64.
 *   const mean = meanOfFirstRecords(dir, 49000);
 *   mean.length === 3072;
 */
export function meanOfFirstRecords(dir: string, numTraining: number): Float64Array {
  const sum = new Float64Array(3072);
  let left = numTraining;
  for (const f of FILES.slice(0, 5)) {
    if (left === 0) break;
    // (a separate reading of the files, record by record: not the parser under test)
    const bytes = readFileSync(join(dir, f));
    const n = Math.min(left, bytes.length / RECORD);
    for (let i = 0; i < n; i++) {
      const at = i * RECORD + 1;
      for (let j = 0; j < 3072; j++) sum[j] += bytes[at + j];
    }
    left -= n;
  }
  for (let j = 0; j < 3072; j++) sum[j] /= numTraining;
  return sum;
}

/**
 * `cifar-10-binary.tar.gz` of the full-size folder (gzip -1: random pixels do not compress anyway), made once.
 *   const archive = makeFullSizeArchive();
 *   statSync(archive).size > 184e6;
 */
export function makeFullSizeArchive(root: string = fullSizeRoot): string {
  makeFullSizeCIFAR10(root);
  const archive = join(root, 'cifar-10-binary.tar.gz');
  if (existsSync(archive) && statSync(archive).mtimeMs >= statSync(join(root, 'cifar-10-batches-bin')).mtimeMs) return archive;
  const tmp = `${archive}.partial-${process.pid}`;
  execSync(`tar -cf - -C '${root}' cifar-10-batches-bin | gzip -1 > '${tmp}'`);
  renameSync(tmp, archive);
  return archive;
}
