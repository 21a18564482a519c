// Shared by the demo page specs: open /demo/ with URL settings, wait for the GPU and CIFAR-10, fail on console errors.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';

/**
 * Where the page should fetch CIFAR-10: the dev server's /data/cifar10/ when it has the files ($CIFAR10_DIR or
 * data/cifar-10-batches-bin), else the sample in ../shared/cifar10 through Vite's /@fs/ (allowed in vite.config.ts).
 */
function dataUrl(): string | null {
  const root = resolve(import.meta.dirname, '..');
  if (process.env.CIFAR10_DIR || existsSync(join(root, 'data', 'cifar-10-batches-bin'))) return null;
  const shared = resolve(root, '..', 'shared', 'cifar10');
  return existsSync(shared) ? `/@fs${shared}/` : null;
}

/** Reduced settings that keep SwiftShader runs short: 200 images, 2 epochs, small hidden layers. */
export const small = {
  batchnorm: 'b.hidden=32x2&b.numTrain=200&b.numVal=200&b.epochs=2',
  sweep: 's.hidden=16x3&s.numTrain=200&s.numVal=200&s.epochs=1&s.numScales=3&s.fromExp=-3&s.toExp=0',
  batchsize: 'z.hidden=16x2&z.numTrain=100&z.numVal=100&z.epochs=1',
  forward: 'f.warmup=10',
  speedup: 'p.sizes=100x500,64x48&p.reps=5',
};

export interface DemoPage {
  page: Page;
  /** Console errors so far (the fixture fails the test when any are left at the end). */
  errors: string[];
  /** Open /demo/?query, wait until the panels exist and (unless `waitForData` is false) CIFAR-10 is loaded. */
  open(query?: string, opts?: { waitForData?: boolean }): Promise<void>;
  /** The URL the page was given for the data (added to every query). */
  dataParam: string;
}

export const test = base.extend<{ demo: DemoPage }>({
  demo: async ({ page }, use) => {
    const errors: string[] = [];
    const d = dataUrl();
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // Only with the /@fs/ fallback (no dev-server data): a plain folder has no index.json, so the loader probes the
      // optional data_batch_2..5.bin with HEAD, and Chromium logs those 404s as resource errors. Nothing else passes.
      const url = m.location().url;
      if (d && url.includes(d) && /404/.test(m.text()) && /(index\.json|data_batch_[2-5]\.bin)$/.test(url)) return;
      errors.push(`${m.text()} ${url}`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
    const dataParam = d ? `data=${encodeURIComponent(d)}` : '';
    const demo: DemoPage = {
      page,
      errors,
      dataParam,
      async open(query = '', { waitForData = true } = {}) {
        const q = [query.replace(/^\?/, ''), dataParam].filter(Boolean).join('&');
        await page.goto(`/demo/${q ? `?${q}` : ''}`);
        await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
        if (waitForData) await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
      },
    };
    await use(demo);
    expect(errors, 'console errors on the demo page').toEqual([]);
  },
});

/** The numbers in a text ("best val 0.17, loss 2.265" -> [0.17, 2.265]). */
export function numbersIn(text: string | null): number[] {
  return (text ?? '').match(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi)?.map(Number) ?? [];
}

export { expect };

/** The histories a training record keeps (demo/experiments/common.ts TrainRecord). */
export interface Histories {
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
}

/**
 * How far a GPU run's histories are from the float64 reference's on the same minibatches (the page's model=cpu, same
 * seed): the worst loss step relative to the reference, the worst accuracy check in absolute terms, and where each is.
 * Lengths must agree (a shorter history is an infinite gap).
 *   const g = historyGaps(gpuRecord, cpuRecord); // { loss: 3e-5, lossAt: 7, acc: 0.005, accAt: 'val 1' }
 */
export function historyGaps(got: Histories, want: Histories): { loss: number; lossAt: number; acc: number; accAt: string } {
  const r = { loss: 0, lossAt: -1, acc: 0, accAt: '' };
  if (got.lossHistory.length !== want.lossHistory.length) return { ...r, loss: Infinity };
  got.lossHistory.forEach((l, i) => {
    const e = Math.abs(l - want.lossHistory[i]!) / Math.abs(want.lossHistory[i]!);
    if (!(e <= r.loss)) [r.loss, r.lossAt] = [Number.isNaN(e) ? Infinity : e, i];
  });
  for (const which of ['train', 'val'] as const) {
    const [g, w] = [got[`${which}AccHistory`], want[`${which}AccHistory`]];
    if (g.length !== w.length) return { ...r, acc: Infinity, accAt: `${which}: ${g.length} checks, want ${w.length}` };
    g.forEach((a, i) => {
      const e = Math.abs(a - w[i]!);
      if (!(e <= r.acc)) [r.acc, r.accAt] = [Number.isNaN(e) ? Infinity : e, `${which} ${i}`];
    });
  }
  return r;
}
