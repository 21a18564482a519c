// Where the tests find the CIFAR-10 sample: $CIFAR10_DIR, else ../shared/cifar10 beside the repo.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

/** The folder with data_batch_1.bin (4000 records), test_batch.bin (1000) and batches.meta.txt. */
export const sampleDir = resolve(process.env.CIFAR10_DIR || resolve(import.meta.dirname, '../../../shared/cifar10'));

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A fresh temporary folder, removed when the test file is done.
 *   const dir = tempDir('archive');
 *   writeFileSync(join(dir, 'x.bin'), bytes);
 */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cifar10-${tag}-`));
  made.push(dir);
  return dir;
}

const archives = new Map<string, string>();

/**
 * cifar-10-binary.tar.gz holding the sample under cifar-10-batches-bin/, made by `tar czf` (once per format).
 *   const path = makeSampleArchive('ustar');
 *   const files = await readCIFAR10Archive(readFileSync(path));
 */
export function makeSampleArchive(format: 'gnu' | 'ustar' | 'pax' = 'gnu'): string {
  const made = archives.get(format);
  if (made) return made;
  const dir = tempDir(`tar-${format}`);
  mkdirSync(join(dir, 'cifar-10-batches-bin'));
  for (const n of ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt']) {
    cpSync(join(sampleDir, n), join(dir, 'cifar-10-batches-bin', n));
  }
  const out = join(dir, 'cifar-10-binary.tar.gz');
  execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', dir, 'cifar-10-batches-bin']);
  archives.set(format, out);
  return out;
}
