#!/usr/bin/env node
// Bundles the Node benchmark (bench/bench-node.ts, or the entry given) into one self-contained ESM file for a GPU machine.
//   node bench/build-node.mjs                      # -> bench/dist/bench-node.mjs
//   node bench/build-node.mjs some/entry.ts out.mjs
// Only 'webgpu' (Dawn's native addon) stays external; WGSL files are inlined as text like Vite's `?raw`.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = resolve(process.argv[2] ?? join(root, 'bench/bench-node.ts'));
const outfile = resolve(process.argv[3] ?? join(root, 'bench/dist/bench-node.mjs'));

/** `import src from './x.wgsl?raw'` -> the file's text as the default export. */
const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)), namespace: 'raw-text' }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' },
  plugins: [rawText],
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.error(`built ${outfile}`);
