#!/usr/bin/env node
// `npm start`: finds (or downloads) CIFAR-10, then serves the demo page with Vite at http://127.0.0.1:5173/demo/.
//   npm start [-- --port 5173] [--data DIR] [--open]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { findData } from './experiment/find-data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const port = Number(opt('--port') ?? 5173);
const log = (m) => process.stderr.write(`${m}\n`);

const server = await createServer({
  root,
  configFile: join(root, 'vite.config.ts'),
  clearScreen: false,
  server: { host: '127.0.0.1', port, strictPort: false, open: argv.includes('--open') ? '/demo/' : false },
});
try {
  const found = await findData(root, () => server.ssrLoadModule('/src/data/locate.ts'), opt('--data'), log);
  process.env.CIFAR10_DIR = found.dir; // the dev-server plugin serves /data/cifar10/ from here
} catch (e) {
  log(`${e.message}\nThe page still starts: drop cifar-10-binary.tar.gz or the .bin files onto it.`);
}
await server.listen();
log(`\n  demo page: ${server.resolvedUrls.local[0]}demo/   (Ctrl-C stops)\n`);
