// `npm run experiment` on the page runtime (the default): the demo page with the settings in its URL and autorun=1, headless in Chromium.
import { resolve } from 'node:path';
import { chromium } from 'playwright';
import { createProgressBar } from './progress.mjs';
import { pageRunStatus } from './checks.mjs';

/**
 * Open Chromium on the demo page (adapter, flags of the e2e tests), collecting console errors.
 *   const { browser, page, errors } = await openDemoPage(demo, url, { headed: false });
 *   await browser.close();
 */
export async function openDemoPage(demo, url, { chromiumPath, headed = false } = {}) {
  const { executablePath, args } = await demo.browserLaunch(chromiumPath);
  const browser = await chromium.launch({ executablePath, headless: !headed, args });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 }); // crisp chart PNGs
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
  return { browser, page, errors, executablePath };
}

/**
 * The PNG of each chart of `panel` on an open demo page, as { name, bytes }.
 *   const pngs = await chartPngs(page, 'batchnorm');
 *   pngs[0].name; // 'exp1-loss.png'
 */
export async function chartPngs(page, panel) {
  const out = [];
  const chartIds = await page.evaluate((p) => window.demo.panels[p].chartIds, panel);
  for (const cid of chartIds) {
    const dataUrl = await page.evaluate((c) => window.demo.chartPng(c), cid);
    out.push({ name: `${cid}.png`, bytes: Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64') });
  }
  return out;
}

/**
 * Run the command's panel in the page and mirror its progress bar; returns the record, CSV rows and chart PNGs.
 *   const { record, rows, files } = await runInPage({ demo, opts, cmd, state, urlState, say });
 */
export async function runInPage({ demo, opts, cmd, state, urlState, say }) {
  const { base, data } = await demo.listen({ data: opts.runner.data, port: opts.runner.port });
  const url = `${base}demo/${urlState.writePageState(state, { full: true, autorun: true })}`;
  say(`${opts.command}: ${cmd.what}`);
  say(`CIFAR-10: ${data.dir} (${data.how})`);
  say(`page: ${url}`);
  const { browser, page, errors, executablePath } = await openDemoPage(demo, url, {
    chromiumPath: opts.runner.chromium,
    headed: opts.runner.headed,
  });
  try {
    say(`browser: ${executablePath}`);
    say(`adapter: ${await page.locator('[data-testid="adapter"]').textContent()}`);
    const modelNote = await page.locator('[data-testid="model-note"]').textContent();
    if (state.model === 'gpu' && modelNote) say(`model: ${modelNote.trim()} -> training on the CPU reference`);

    const bar = createProgressBar();
    let datasetLine = '';
    let gpuSeen = 0;
    const gpuLines = [];
    const deadline = opts.runner.timeout ? Date.now() + Number(opts.runner.timeout) * 1000 : Infinity;
    const id = cmd.control;
    for (;;) {
      const snap = await page.evaluate(
        ([cid, seen]) => {
          const q = (s) => document.querySelector(`[data-testid="${s}"]`);
          const p = q(`${cid}-progress`);
          return {
            done: document.body.dataset.autorun === 'done',
            value: Number(p?.value ?? 0),
            max: Number(p?.max ?? 1),
            rate: q(`${cid}-rate`)?.textContent ?? '',
            detail: q(`${cid}-detail`)?.textContent ?? '',
            status: q(`${cid}-status`)?.textContent ?? '',
            dataset: q('dataset-status')?.textContent ?? '',
            datasetState: q('dataset-status')?.dataset.state,
            gpuEvents: (window.demo?.gpuEvents ?? []).slice(seen),
          };
        },
        [id, gpuSeen],
      );
      if (snap.datasetState === 'error') throw new Error(snap.dataset);
      if (snap.datasetState !== 'ready' || !datasetLine.startsWith('CIFAR-10 ready')) {
        // until the data is in, say what the dataset box says (download, cache), not just "waiting"
        const phase = snap.dataset.replace(/[\d.]+ (MiB|KiB|B)\b/g, '#'); // a new line per phase, not per byte count
        if (snap.dataset && phase !== datasetLine) {
          bar.done();
          say(snap.dataset);
        }
        datasetLine = phase;
      }
      // GPU errors (naming the kernel), device losses and recoveries: the page's status line, each new one printed
      if (snap.gpuEvents.length) {
        bar.done();
        for (const line of snap.gpuEvents) say(`GPU: ${line}`);
        gpuSeen += snap.gpuEvents.length;
        gpuLines.push(...snap.gpuEvents);
      }
      bar.update(snap);
      if (snap.done) {
        bar.done(`${opts.command}: ${snap.status}`);
        break;
      }
      if (Date.now() > deadline) {
        bar.done();
        throw new Error(`gave up after --timeout ${opts.runner.timeout} s (${snap.status}, ${snap.rate})`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }

    // an uncaptured GPU error fails the run (exit 1), as in Node, even when the panel's run finished
    const status = pageRunStatus(await page.locator(`[data-testid="${id}-status"]`).textContent(), gpuLines);
    const cacheNote = await page.locator('[data-testid="dataset-cache"]').textContent();
    if (cacheNote) say(`CIFAR-10 cache: ${cacheNote}`);
    const results = await page.evaluate(() => window.demo.results());
    const record = {
      command: opts.command,
      runtime: 'page',
      status,
      url,
      adapter: results.adapter,
      userAgent: results.userAgent,
      data: data.dir,
      dataset: await page.evaluate(() => window.demo.datasetSummary()),
      results: results.panels[cmd.panel],
    };
    const rows = await page.evaluate((p) => window.demo.panels[p].csvRows(), cmd.panel);
    const files = await chartPngs(page, cmd.panel);
    const shots = [];
    if (opts.runner.screenshot) {
      await page.screenshot({ path: resolve(opts.runner.screenshot), fullPage: true });
      shots.push(resolve(opts.runner.screenshot));
    }
    if (opts.runner.panelScreenshot) {
      await page.evaluate((p) => document.getElementById(p)?.scrollIntoView(), cmd.panel);
      await page.locator(`#${cmd.panel}`).screenshot({ path: resolve(opts.runner.panelScreenshot) });
      shots.push(resolve(opts.runner.panelScreenshot));
    }
    return { record, rows, files, shots, errors };
  } finally {
    await browser.close();
  }
}
