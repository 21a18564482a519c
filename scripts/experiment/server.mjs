// The demo's Vite server started from Node, with the page's own modules (settings table, export, browser lookup) loaded for the CLI.
import { join } from 'node:path';
import { createServer } from 'vite';
import { findData } from './find-data.mjs';

/**
 * A Vite server for the repo (not listening yet) and the page modules the CLI shares with the page.
 *   const demo = await createDemoServer(root);
 *   const { panelFields } = demo.urlState; await demo.listen({ data: undefined }); await demo.close();
 */
export async function createDemoServer(root, log = (m) => process.stderr.write(`${m}\n`)) {
  const server = await createServer({
    root,
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'error',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 5190, strictPort: false, hmr: false },
  });
  const urlState = await server.ssrLoadModule('/demo/url-state.ts');
  const exporter = await server.ssrLoadModule('/demo/export.ts');
  const sizeLimits = await server.ssrLoadModule('/demo/size-limits.ts');
  return {
    server,
    urlState,
    exporter,
    sizeLimits,
    /** Find the data (sets $CIFAR10_DIR for the dev-server plugin), listen, and return the base URL. */
    async listen({ data, port } = {}) {
      const found = await findData(root, () => server.ssrLoadModule('/src/data/locate.ts'), data, log);
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
