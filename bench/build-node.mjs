#!/usr/bin/env node
// Bundles the Node benchmark (bench/bench-node.ts, or the entry given) into one self-contained ESM file for a GPU machine.
//   node bench/build-node.mjs                      # -> bench/dist/bench-node.mjs
//   node bench/build-node.mjs some/entry.ts out.mjs
// Only 'webgpu' (Dawn's native addon) stays external; WGSL files are inlined as text like Vite's `?raw` (scripts/bundle-node.mjs).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode } from '../scripts/bundle-node.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = resolve(process.argv[2] ?? join(root, 'bench/bench-node.ts'));
const outfile = resolve(process.argv[3] ?? join(root, 'bench/dist/bench-node.mjs'));

await bundleForNode(entry, outfile);
console.error(`built ${outfile}`);
