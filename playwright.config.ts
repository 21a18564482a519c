// Playwright runs the e2e specs in headless Chromium with WebGPU against pages served by Vite on 127.0.0.1.
import { defineConfig } from '@playwright/test';
import { resolve } from 'node:path';
import { findChromium, webgpuChromiumArgs } from './e2e/find-chromium.ts';
import { fullSizeDir } from './test/helpers/full-size-cifar10.ts';

const port = Number(process.env.E2E_PORT ?? 5174);

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  timeout: 180_000,
  expect: { timeout: 30_000 },
  // Two workers for a 2-core machine: spec files run two at a time (a file's tests in order, in one worker), since one
  // worker keeps about one core busy (shader compiles and the page's float64 references are single-threaded). The CLI
  // specs run one at a time beside the others: they bundle to fixed paths and build the package. E2E_WORKERS=1: one file at a time.
  fullyParallel: false,
  workers: Number(process.env.E2E_WORKERS ?? 2),
  projects: [
    { name: 'cli', testDir: 'e2e/cli', workers: 1 },
    // e2e/tmp: scratch profiling specs (git-ignored)
    { name: 'browser', testIgnore: ['**/e2e/cli/**', '**/e2e/tmp/**'] },
  ],
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: { executablePath: findChromium(), args: webgpuChromiumArgs },
  },
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/e2e/harness.html`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    // the dev server serves CIFAR-10 to the pages from here (the sample beside the checkout unless set)
    // and a full-size set (made by the full-scale specs at test time, see test/helpers/full-size-cifar10.ts) at /data/cifar10-full/
    env: {
      WB_E2E: '1',
      CIFAR10_DIR: process.env.CIFAR10_DIR || resolve(import.meta.dirname, '../shared/cifar10'),
      CIFAR10_FULL_DIR: fullSizeDir,
    },
  },
});
