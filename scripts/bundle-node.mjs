// Bundles a TypeScript entry for plain Node (Node 20 strips no types) into one ESM file with the WGSL inlined, as Vite's `?raw` gives it.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** `import src from './x.wgsl?raw'` -> the file's text as the default export. */
const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)),
      namespace: 'raw-text',
    }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};

/**
 * Bundle `entry` into `outfile` (ESM, node20). 'webgpu' (Dawn's native addon) and the `external` packages stay imports,
 * resolved from where the bundle lies; CSS imports (the demo's charts) are dropped; `sourcemap: 'inline'` maps stacks to the sources.
 *   await bundleForNode('bench/bench-node.ts', 'bench/dist/bench-node.mjs');
 *   await bundleForNode('scripts/experiment/node-runner.ts', 'node_modules/.cache/x.mjs', { external: ['playwright', 'vite'] });
 */
export async function bundleForNode(entry, outfile, { external = [], sourcemap = false } = {}) {
  await build({
    entryPoints: [resolve(entry)],
    outfile: resolve(outfile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu', ...external],
    alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' },
    loader: { '.css': 'empty' },
    plugins: [rawText],
    sourcemap,
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}
