// Vite builds the installable package: dist/index.js (browser-safe), dist/engine.js (the building blocks, browser-safe) and dist/node.js, ESM with the WGSL inlined and source maps.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const root = import.meta.dirname;

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    minify: false,
    target: 'es2022',
    lib: {
      entry: { index: resolve(root, 'src/index.ts'), engine: resolve(root, 'src/engine.ts'), node: resolve(root, 'src/node.ts') },
      formats: ['es'],
    },
    rollupOptions: {
      // Dependencies stay imports; `?raw` WGSL is inlined as strings by Vite itself.
      external: (id) =>
        id.startsWith('node:') || id === 'webgpu' || id === 'vite' || id === 'wgsl_reflect' || id.startsWith('wgsl_reflect/'),
      // wgsl_reflect's `main` is CommonJS inside a `type: module` package, which plain Node cannot load: import its ESM file.
      output: { paths: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' }, chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
});
