// Shared Playwright fixture: a page on the harness with a GPU context ready, failing on any console error.
import { test as base, expect, type Page } from '@playwright/test';

export interface Harness {
  page: Page;
  /** Adapter summary as the page sees it. */
  adapter: { vendor: string; architecture: string; description: string };
}

export const test = base.extend<{ harness: Harness }>({
  harness: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/e2e/harness.html');
    const adapter = await page.evaluate(async () => {
      const gpu = await window.gpuReady;
      return { vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture, description: gpu.adapter.description };
    });
    await use({ page, adapter });
    expect(errors, 'console errors on the harness page').toEqual([]);
  },
});

export { expect };
