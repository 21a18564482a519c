// The demo's Vite server started from Node, with the page's own modules (settings table, export, browser lookup) loaded for the CLI.
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createServer } from 'vite';

/**
 * Where the CIFAR-10 files come from: --data, else the data module's lookup without downloading ($CIFAR10_DIR,
 * data/cifar-10-batches-bin, the cached archive data/cifar-10-binary.tar.gz), else the sample in ../shared/cifar10,
 * else the download (with a progress bar).
 */
export async function findData(root, server, dataOpt, log) {
  if (dataOpt) {
    const path = resolve(dataOpt);
    if (!existsSync(path)) throw new Error(`--data ${dataOpt}: no such folder or file`);
    if (statSync(path).isDirectory()) return { dir: path, how: '--data' };
    if (!/\.(tar\.gz|tgz)$/i.test(path)) throw new Error(`--data ${dataOpt}: not a folder of .bin files nor a .tar.gz archive`);
    // an archive: extracted once (streaming) beside the other temporary files, keyed by its name, size and time
    const { size, mtimeMs } = statSync(path);
    const dir = join(tmpdir(), `webgpu-batchnorm-${basename(path).replace(/[^\w.-]/g, '_')}-${size}-${Math.round(mtimeMs)}`, 'cifar-10-batches-bin');
    if (!existsSync(dir)) {
      log(`CIFAR-10: extracting ${path} to ${dir}`);
      const { extractCIFAR10Archive } = await server.ssrLoadModule('/src/data/locate.ts');
      await extractCIFAR10Archive(path, dir);
    }
    return { dir, how: `--data ${basename(path)}, extracted` };
  }
  const { locateCIFAR10 } = await server.ssrLoadModule('/src/data/locate.ts');
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

/**
 * A Vite server for the repo (not listening yet) and the page modules the CLI shares with the page.
 *   const demo = await createDemoServer(root);
 *   const { panelFields } = demo.urlState; await demo.listen({ data: undefined }); await demo.close();
 */
export async function createDemoServer(root, log = (m) => process.stderr.write(`${m}\n`)) {
  const server = await createServer({
    root, configFile: join(root, 'vite.config.ts'), logLevel: 'error', clearScreen: false,
    server: { host: '127.0.0.1', port: 5190, strictPort: false, hmr: false },
  });
  const urlState = await server.ssrLoadModule('/demo/url-state.ts');
  const exporter = await server.ssrLoadModule('/demo/export.ts');
  return {
    server,
    urlState,
    exporter,
    /** Find the data (sets $CIFAR10_DIR for the dev-server plugin), listen, and return the base URL. */
    async listen({ data, port } = {}) {
      const found = await findData(root, server, data, log);
      process.env.CIFAR10_DIR = found.dir; // the plugin reads it per request
      await server.listen(port ? Number(port) : undefined);
      return { base: server.resolvedUrls.local[0], data: found };
    },
    /** The browser and flags the e2e tests use (e2e/find-chromium.ts). */
    async browserLaunch(chromiumOpt) {
      const { findChromium, webgpuChromiumArgs } = await server.ssrLoadModule('/e2e/find-chromium.ts');
      return { executablePath: chromiumOpt ?? findChromium(), args: webgpuChromiumArgs };
    },
    close: () => server.close(),
  };
}
