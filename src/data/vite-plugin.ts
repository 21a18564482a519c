// A Vite dev-server plugin that serves the CIFAR-10 .bin files at /data/cifar10/<file> from the Node lookup.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import { CIFAR10_FILES } from './cifar10.ts';
import { findCIFAR10Dir } from './locate.ts';

/** The URL prefix the browser loader fetches from by default. */
export const CIFAR10_URL_PREFIX = '/data/cifar10/';
/** `<prefix>index.json` lists the files the dev server has: `{ dir, looked, files: [{ name, size, mtimeMs }] }`. */
export const INDEX_FILE = 'index.json';

/** More folders to serve: URL prefix (`/data/cifar10-full/`) -> folder of .bin files. */
export interface CIFAR10DevServerOptions { mounts?: Record<string, string> }

/**
 * Serves GET/HEAD /data/cifar10/<file> (and index.json, the list of files present) from $CIFAR10_DIR, else `<root>/data/cifar-10-batches-bin`
 * (looked up per request, so files added later are seen), and each of `mounts` from its folder; a missing file
 * is a 404 that says where it looked.
 *   // vite.config.ts
 *   export default defineConfig({ plugins: [cifar10DevServer({ mounts: { '/data/cifar10-full/': '/tmp/full' } })] });
 */
export function cifar10DevServer(opts: CIFAR10DevServerOptions = {}): Plugin {
  const mounts = Object.entries(opts.mounts ?? {});
  return {
    name: 'cifar10-dev-server',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0]!;
        const mount = mounts.find(([prefix]) => path.startsWith(prefix));
        const prefix = mount?.[0] ?? CIFAR10_URL_PREFIX;
        if (!path.startsWith(prefix)) return next();
        const name = decodeURIComponent(path.slice(prefix.length));
        const { dir, looked } = mount
          ? { dir: existsSync(mount[1]) ? mount[1] : undefined, looked: [mount[1]] }
          : findCIFAR10Dir(server.config.root);
        const file = dir && CIFAR10_FILES.includes(name) ? join(dir, name) : undefined;
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.statusCode = 405;
          return res.end('only GET and HEAD');
        }
        if (name === INDEX_FILE) {
          // which files exist, so the page need not probe (a probe's 404 is a console error in the browser)
          const files = dir ? CIFAR10_FILES.filter((f) => existsSync(join(dir, f))).map((f) => { const st = statSync(join(dir, f)); return { name: f, size: st.size, mtimeMs: st.mtimeMs }; }) : [];
          res.setHeader('Content-Type', 'application/json');
          res.setHeader('Cache-Control', 'no-cache');
          return res.end(JSON.stringify({ dir: dir ?? null, looked, files }));
        }
        if (!file || !existsSync(file)) {
          res.statusCode = 404;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          const what = CIFAR10_FILES.includes(name) ? `${name} not found` : `${name} is not a CIFAR-10 file (${CIFAR10_FILES.join(', ')})`;
          return res.end(`CIFAR-10: ${what}; looked in ${looked.join(', ')}. Put the files in data/cifar-10-batches-bin or set CIFAR10_DIR.`);
        }
        res.setHeader('Content-Type', name.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream');
        res.setHeader('Content-Length', String(statSync(file).size));
        res.setHeader('Cache-Control', 'no-cache');
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).on('error', (e) => next(e)).pipe(res);
      });
    },
  };
}
