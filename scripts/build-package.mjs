#!/usr/bin/env node
// Builds the installable package into dist/: ESM JavaScript with the WGSL inlined and source maps (Vite), then .d.ts types (tsc).
//   npm run build          # what `npm pack` ships (see "files" in package.json)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(bin('vite'), ['build', '--config', 'vite.lib.config.ts', '--logLevel', 'warn']);
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

/** Every .d.ts under dir, recursively. */
function declarationFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? declarationFiles(join(dir, e.name)) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

// The sources import each other as './x.ts' (Vite and tsc's allowImportingTsExtensions); a consumer's tsc resolves './x.js' to x.d.ts.
const dist = join(root, 'dist');
for (const file of declarationFiles(dist)) {
  const text = readFileSync(file, 'utf8');
  let out = text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*)\.ts(['"])/g, '$1.js$2');
  // The API's types name GPUDevice, GPUBuffer, ...: bring @webgpu/types (a dependency) into every consumer's program.
  if (file === join(dist, 'index.d.ts') || file === join(dist, 'engine.d.ts')) out = `/// <reference types="@webgpu/types" />\n${out}`;
  if (out !== text) writeFileSync(file, out);
}
console.error('built dist/ (index.js, engine.js, node.js, chunks/, .d.ts, source maps)');
