// Shared Playwright fixture: a page on the harness with a GPU context ready, failing on any console error; one page per
// test, or one page a worker keeps across tests (`onePage`) so that its device's compiled pipelines serve them all.
import { test as base, expect, type Browser, type Page } from '@playwright/test';

export interface Harness {
  page: Page;
  /** Adapter summary as the page sees it. */
  adapter: { vendor: string; architecture: string; description: string };
}

/** Open the harness page and wait for its GPU context; returns the adapter as the page sees it. */
async function openHarness(page: Page): Promise<Harness['adapter']> {
  await page.goto('/e2e/harness.html');
  return page.evaluate(async () => {
    const gpu = await window.gpuReady;
    return { vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture, description: gpu.adapter.description };
  });
}

/** Run one test on `page`, collecting the console errors and uncaught exceptions it causes, and fail it on any. */
async function withErrorCheck(page: Page, run: () => Promise<void>): Promise<void> {
  const errors: string[] = [];
  const onConsole = (m: { type(): string; text(): string }) => {
    if (m.type() === 'error') errors.push(m.text());
  };
  const onError = (e: Error) => errors.push(e.message);
  page.on('console', onConsole);
  page.on('pageerror', onError);
  try {
    await run();
  } finally {
    page.off('console', onConsole);
    page.off('pageerror', onError);
  }
  expect(errors, 'console errors on the harness page').toEqual([]);
}

/** A fresh harness page for each test (the default: a test sees a device no other test touched). */
export const test = base.extend<{ harness: Harness }>({
  harness: async ({ page }, use) => {
    await withErrorCheck(page, async () => use({ page, adapter: await openHarness(page) }));
  },
});

/**
 * One harness page (one device) per worker, for kernel specs whose tests compile the same pipelines: each test still
 * fails on its own console errors and on GPU buffers it leaves alive; a failed test ends the worker, so the next one
 * starts on a fresh page.
 *   import { testOnOnePage as test, expect } from '../fixtures.ts';
 *   test('...', async ({ harness }) => { await harness.page.evaluate(...); });
 */
export const testOnOnePage = base.extend<{ harness: Harness }, { workerHarness: Harness }>({
  workerHarness: [
    async ({ browser }, use, workerInfo) => {
      const page = await newPage(browser, workerInfo.project.use.baseURL);
      await use({ page, adapter: await openHarness(page) });
      await page.context().close();
    },
    { scope: 'worker' },
  ],
  harness: async ({ workerHarness }, use) => {
    const { page } = workerHarness;
    const live = () => page.evaluate(async () => (await window.gpuReady).stats.buffersLive);
    const before = await live();
    await withErrorCheck(page, async () => use(workerHarness));
    expect(await live(), 'GPU buffers this test left alive on the shared page').toBe(before);
  },
});

/** A page in a context of its own, with the project's base URL (what the built-in `page` fixture would get). */
async function newPage(browser: Browser, baseURL: string | undefined): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  return context.newPage();
}

export { expect };
