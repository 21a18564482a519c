// Where `npm run experiment` reads CIFAR-10 from, for both runtimes: --data, the data module's lookup, the shared sample, else the download.
import { existsSync, statSync } from 'node:fs';
import { checkCifarFiles } from './checks.mjs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/**
 * Where the CIFAR-10 files come from: --data, else the data module's lookup without downloading ($CIFAR10_DIR,
 * data/cifar-10-batches-bin, the cached archive data/cifar-10-binary.tar.gz), else the sample in ../shared/cifar10,
 * else the download (with a progress bar). `loadLocate()` gives the data module's locateCIFAR10 and extractCIFAR10Archive
 * (through Vite for the page runtime, the bundle's own for Node).
 *   const { dir, how } = await findData(root, async () => import('../../src/node.ts'), undefined, console.error);
 */
export async function findData(root, loadLocate, dataOpt, log) {
  const found = await findDataDir(root, loadLocate, dataOpt, log);
  checkCifarFiles(found.dir); // an empty or truncated batch file, or a folder in its place, is named before anything reads it
  return found;
}

async function findDataDir(root, loadLocate, dataOpt, log) {
  if (dataOpt !== undefined) {
    if (dataOpt.trim() === '') throw new Error('--data needs a folder or a .tar.gz archive, got an empty value');
    const path = resolve(dataOpt);
    if (!existsSync(path)) throw new Error(`--data ${dataOpt}: no such folder or file`);
    if (statSync(path).isDirectory()) return { dir: path, how: '--data' };
    if (!/\.(tar\.gz|tgz)$/i.test(path)) throw new Error(`--data ${dataOpt}: not a folder of .bin files nor a .tar.gz archive`);
    // an archive: extracted once (streaming) beside the other temporary files, keyed by its name, size and time
    const { size, mtimeMs } = statSync(path);
    const dir = join(
      tmpdir(),
      `webgpu-batchnorm-${basename(path).replace(/[^\w.-]/g, '_')}-${size}-${Math.round(mtimeMs)}`,
      'cifar-10-batches-bin',
    );
    if (!existsSync(dir)) {
      log(`CIFAR-10: extracting ${path} to ${dir}`);
      const { extractCIFAR10Archive } = await loadLocate();
      await extractCIFAR10Archive(path, dir);
    }
    return { dir, how: `--data ${basename(path)}, extracted` };
  }
  const { locateCIFAR10 } = await loadLocate();
  try {
    const loc = await locateCIFAR10({ cacheDir: join(root, 'data'), download: false, log });
    return { dir: loc.dir, how: loc.source };
  } catch (e) {
    if (process.env.CIFAR10_DIR) throw e; // a wrong CIFAR10_DIR is an error, not a reason to look elsewhere
  }
  const shared = resolve(root, '..', 'shared', 'cifar10');
  if (existsSync(shared)) {
    log(`CIFAR-10: reading the sample in ${shared}`);
    return { dir: shared, how: 'the sample in ../shared/cifar10' };
  }
  const loc = await locateCIFAR10({ cacheDir: join(root, 'data'), log });
  return { dir: loc.dir, how: loc.source };
}
