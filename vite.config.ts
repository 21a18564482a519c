// Vite serves the demo page and the browser test harness; Vitest runs the Node unit tests.
import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';
import { cifar10DevServer } from './src/data/vite-plugin.ts';

export default defineConfig({
  root: '.',
  // CIFAR10_FULL_DIR (the e2e server sets it): a full-size set served beside the sample, for the full-scale specs
  plugins: [cifar10DevServer({ mounts: process.env.CIFAR10_FULL_DIR ? { '/data/cifar10-full/': process.env.CIFAR10_FULL_DIR } : {} })],
  resolve: { alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' } },
  // Pre-bundle every dependency up front from every page, so no page is reloaded mid-test by a late dependency discovery.
  optimizeDeps: {
    entries: ['demo/**/*.html', 'e2e/**/*.html', 'bench/**/*.html'],
    include: [
      'wgsl_reflect',
      'uplot',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
    ],
  },
  // The e2e server runs without HMR: an edit elsewhere must not reload a page in the middle of a test.
  // The e2e server is cross-origin isolated too, so the full-scale specs can read performance.measureUserAgentSpecificMemory().
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: false,
    fs: { allow: ['.', '../shared'] },
    hmr: process.env.WB_E2E ? false : undefined,
    headers: process.env.WB_E2E
      ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
      : undefined,
  },
  // the demo's CPU reference worker (demo/cpu-worker.ts) is an ES module, like the page
  worker: { format: 'es' },
  build: {
    outDir: 'dist-demo', // dist/ is the package (npm run build)
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
    execArgv: ['--expose-gc'], // memory figures measured from a collected heap (test/data/full-size.test.ts)
  },
});
