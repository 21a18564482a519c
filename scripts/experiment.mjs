#!/usr/bin/env node
// `npm run experiment -- batchnorm|sweep|batchsize|forward|speedup [options]`: the demo page's own code, headless in Chromium.
// Starts Vite programmatically, opens the page with the settings in the URL and autorun=1 (what a shared link does),
// mirrors its progress bar in the terminal, then writes the results (JSON, CSV) and the charts (PNG) to --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { commands, helpText, parseArgs } from './experiment/args.mjs';
import { createProgressBar } from './experiment/progress.mjs';
import { createDemoServer } from './experiment/server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m) => process.stderr.write(`${m}\n`);

async function main() {
  const started = performance.now();
  // Vite first: it loads the page's TypeScript modules for Node too, so the options and their parsing are the page's own.
  const demo = await createDemoServer(root, say);
  let browser = null;
  try {
    const { urlState } = demo;
    const { toCsv, toJson } = demo.exporter;
    const opts = parseArgs(process.argv.slice(2), urlState.panelFields);
    if (opts.help || !opts.command) {
      process.stdout.write(`${helpText(urlState.panelFields, urlState.formatField)}\n`);
      process.exitCode = opts.help ? 0 : 2;
      return;
    }
    const cmd = commands[opts.command];
    const { state, errors } = urlState.readPageState('');
    if (errors.length) throw new Error(errors.join('; '));
    for (const [key, text] of Object.entries(opts.fieldText)) {
      const f = urlState.panelFields[cmd.panel].find((x) => x.key === key);
      state.panels[cmd.panel][key] = urlState.parseField(f, text);
    }
    state.run = [cmd.panel];
    state.autorun = true;
    state.model = opts.runner.model ?? 'gpu';

    const { base, data } = await demo.listen({ data: opts.runner.data, port: opts.runner.port });
    const url = `${base}demo/${urlState.writePageState(state, { full: true, autorun: true })}`;
    const { executablePath, args } = await demo.browserLaunch(opts.runner.chromium);
    say(`${opts.command}: ${cmd.what}`);
    say(`CIFAR-10: ${data.dir} (${data.how})`);
    say(`browser: ${executablePath}`);
    say(`page: ${url}`);

    browser = await chromium.launch({ executablePath, headless: !opts.runner.headed, args });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 }); // crisp chart PNGs
    const pageErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${m.text()} ${m.location().url}`); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
    const adapter = await page.locator('[data-testid="adapter"]').textContent();
    say(`adapter: ${adapter}`);
    const modelNote = await page.locator('[data-testid="model-note"]').textContent();
    if (state.model === 'gpu' && modelNote) say(`model: ${modelNote.trim()} -> training on the CPU reference`);

    const bar = createProgressBar();
    let datasetLine = '';
    const deadline = opts.runner.timeout ? Date.now() + Number(opts.runner.timeout) * 1000 : Infinity;
    const id = cmd.control;
    for (;;) {
      const snap = await page.evaluate((cid) => {
        const q = (s) => document.querySelector(`[data-testid="${s}"]`);
        const p = q(`${cid}-progress`);
        return {
          done: document.body.dataset.autorun === 'done',
          value: Number(p?.value ?? 0), max: Number(p?.max ?? 1),
          rate: q(`${cid}-rate`)?.textContent ?? '', detail: q(`${cid}-detail`)?.textContent ?? '',
          status: q(`${cid}-status`)?.textContent ?? '', dataset: q('dataset-status')?.textContent ?? '',
          datasetState: q('dataset-status')?.dataset.state,
        };
      }, id);
      if (snap.datasetState === 'error') throw new Error(snap.dataset);
      if (snap.datasetState !== 'ready' || !datasetLine.startsWith('CIFAR-10 ready')) {
        // until the data is in, say what the dataset box says (download, cache), not just "waiting"
        const phase = snap.dataset.replace(/[\d.]+ (MiB|KiB|B)\b/g, '#'); // a new line per phase, not per byte count
        if (snap.dataset && phase !== datasetLine) { bar.done(); say(snap.dataset); }
        datasetLine = phase;
      }
      bar.update(snap);
      if (snap.done) { bar.done(`${opts.command}: ${snap.status}`); break; }
      if (Date.now() > deadline) { bar.done(); throw new Error(`gave up after --timeout ${opts.runner.timeout} s (${snap.status}, ${snap.rate})`); }
      await new Promise((r) => setTimeout(r, 500));
    }

    const status = await page.locator(`[data-testid="${id}-status"]`).textContent();
    const cacheNote = await page.locator('[data-testid="dataset-cache"]').textContent();
    if (cacheNote) say(`CIFAR-10 cache: ${cacheNote}`);
    const outDir = resolve(opts.runner.out ?? join(root, 'out'));
    mkdirSync(outDir, { recursive: true });
    const results = await page.evaluate(() => window.demo.results());
    const panelResult = results.panels[cmd.panel];
    const record = {
      command: opts.command, status, url, adapter: results.adapter, userAgent: results.userAgent,
      data: data.dir, dataset: await page.evaluate(() => window.demo.datasetSummary()),
      wallSeconds: (performance.now() - started) / 1000, results: panelResult,
    };
    const written = [];
    const put = (name, content) => { writeFileSync(join(outDir, name), content); written.push(join(outDir, name)); };
    put(`${opts.command}.json`, toJson(record));
    const rows = await page.evaluate((p) => window.demo.panels[p].csvRows(), cmd.panel);
    if (rows.length) put(`${opts.command}.csv`, toCsv(rows));
    const chartIds = await page.evaluate((p) => window.demo.panels[p].chartIds, cmd.panel);
    for (const cid of chartIds) {
      const dataUrl = await page.evaluate((c) => window.demo.chartPng(c), cid);
      put(`${cid}.png`, Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
    }
    if (opts.runner.screenshot) {
      await page.screenshot({ path: resolve(opts.runner.screenshot), fullPage: true });
      written.push(resolve(opts.runner.screenshot));
    }
    if (opts.runner.panelScreenshot) {
      await page.evaluate((p) => document.getElementById(p)?.scrollIntoView(), cmd.panel);
      await page.locator(`#${cmd.panel}`).screenshot({ path: resolve(opts.runner.panelScreenshot) });
      written.push(resolve(opts.runner.panelScreenshot));
    }
    printSummary(opts.command, panelResult, say);
    for (const w of written) say(`wrote ${w}`);
    if (pageErrors.length) say(`page errors:\n  ${pageErrors.join('\n  ')}`);
    if (!/^done/.test(status ?? '') || !panelResult) {
      say(`${opts.command} did not finish: ${status}`);
      process.exitCode = 1;
    }
  } finally {
    await browser?.close();
    await demo.close();
  }
}

const f = (v, d = 4) => (typeof v === 'number' ? (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v)) : String(v));

/** The figures a person wants in the terminal: best accuracies, final losses, timings. */
function printSummary(command, r, out) {
  if (!r) return;
  out(`adapter: ${r.adapter?.vendor ?? ''} / ${r.adapter?.architecture ?? ''}${r.settings?.model ? `; model: ${r.settings.model}` : ''}`);
  if (command === 'batchnorm') {
    for (const m of Object.values(r.models)) {
      out(`  ${m.label.padEnd(9)} ${m.status.padEnd(9)} best val acc ${f(m.bestValAcc)}  best train acc ${f(m.bestTrainAcc)}  final loss ${f(m.finalLoss)}  ${f(m.seconds, 3)} s (${f(m.stepsPerSecond, 3)} steps/s)`);
    }
    out(`  total ${f(r.seconds, 3)} s`);
  } else if (command === 'sweep') {
    out('  weight scale   best val (base / bn)   best train (base / bn)   final loss (base / bn)');
    for (const s of r.runs) {
      const b = s.runs.baseline; const n = s.runs.batchnorm;
      const mark = (t) => (t?.status === 'diverged' ? '!' : ' ');
      out(`  ${s.weightScale.toExponential(2).padEnd(12)} ${f(b?.bestValAcc, 3).padStart(7)}${mark(b)}/ ${f(n?.bestValAcc, 3).padEnd(8)}${mark(n)}`
        + `${f(b?.bestTrainAcc, 3).padStart(9)} / ${f(n?.bestTrainAcc, 3).padEnd(12)} ${f(b?.finalLoss).padStart(9)} / ${f(n?.finalLoss)}`);
    }
    const per = r.secondsPerNetwork ?? {};
    out(`  (! = diverged)  ${r.training ?? 'sequential'}: batchnorm ${f(per.batchnorm, 3)} s, baseline ${f(per.baseline, 3)} s, total ${f(r.seconds, 3)} s`);
  } else if (command === 'batchsize') {
    for (const m of r.runs) {
      out(`  ${m.label.padEnd(20)} ${m.status.padEnd(9)} best val acc ${f(m.bestValAcc, 3)}  best train acc ${f(m.bestTrainAcc, 3)}  final loss ${f(m.finalLoss)}  ${m.iterations} steps, ${f(m.seconds, 3)} s`);
    }
    out(`  total ${f(r.seconds, 3)} s`);
  } else if (command === 'forward') {
    for (const c of r.cases) out(`  ${c.title}: cpu means ${c.cpu.means.map((v) => f(v)).join(' ')}${c.error ? `; gpu vs cpu ‖Δ‖/‖ref‖ ${f(c.error.normRatio, 2)}` : ''}`);
  } else if (command === 'speedup') {
    for (const row of r.rows) out(`  ${`${row.n}x${row.d}`.padEnd(10)} graph ${f(row.graphMs)} ms  alternative ${f(row.alternativeMs)} ms  speedup ${f(row.speedup, 3)}x  (${row.timer}; CPU f64 ${f(row.cpuSpeedup, 3)}x)`);
  }
}

main().catch((e) => {
  say(`experiment: ${e.message}`);
  process.exitCode = 1;
});
