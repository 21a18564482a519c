// Vite serves the demo page and the browser test harness; Vitest runs the Node unit tests.
import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';
import { cifar10DevServer } from './src/data/vite-plugin.ts';

export default defineConfig({
  root: '.',
  plugins: [cifar10DevServer()],
  resolve: { alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' } },
  server: { host: '127.0.0.1', port: 5173, strictPort: false, fs: { allow: ['.', '../shared'] } },
  build: {
    outDir: 'dist',
    rollupOptions: {
      input: {
        demo: resolve(import.meta.dirname, 'demo/index.html'),
      },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
