// `npm run selftest [-- --runtime node]`: the GPU self-test (demo/experiments/selftest.ts) from the terminal: the table on
// stdout, selftest.json and selftest.csv in --out, exit code 1 when any case fails.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDemoPage } from './page-runner.mjs';
import { createProgressBar } from './progress.mjs';

/**
 * Run the self-test on the runtime asked for and write its files; returns the exit code (0: every case passed).
 *   process.exitCode = await runSelfTestCommand({ root, opts, nodeRunner, demo, say });
 */
export async function runSelfTestCommand({ root, opts, nodeRunner, demo, say, started }) {
  const scaleText = opts.runner.toleranceScale;
  const toleranceScale = scaleText === undefined ? 1 : Number(scaleText);
  if (scaleText !== undefined && !(toleranceScale >= 0)) throw new Error(`--tolerance-scale must be a number >= 0, got ${scaleText}`);
  let r;
  if (nodeRunner) {
    say('selftest: every kernel variant the plans could pick on this adapter vs the float64 reference (Node, Dawn)');
    const bar = createProgressBar();
    r = await nodeRunner.runSelfTestInNode({ bar, toleranceScale });
    bar.done(`selftest: ${r.results.failed ? `${r.results.failed} FAILED` : 'all passed'}`);
    r = { ...r, runtime: 'node' };
  } else {
    // no CIFAR-10 needed: the server listens without looking for it
    await demo.server.listen(opts.runner.port ? Number(opts.runner.port) : undefined);
    const url = `${demo.server.resolvedUrls.local[0]}demo/`;
    say(`selftest: every kernel variant the plans could pick on this adapter vs the float64 reference (page ${url})`);
    const { browser, page, errors } = await openDemoPage(demo, url, { chromiumPath: opts.runner.chromium, headed: opts.runner.headed });
    try {
      const running = page.evaluate((s) => window.demo.selftest({ toleranceScale: s }), toleranceScale);
      // mirror the page's progress bar and status line in the terminal until the run resolves
      const bar = createProgressBar();
      let finished = false;
      running.finally(() => (finished = true)).catch(() => {});
      while (!finished) {
        const snap = await page.evaluate(() => {
          const q = (id) => document.querySelector(`[data-testid="${id}"]`);
          return {
            value: Number(q('selftest-progress').value),
            max: Number(q('selftest-progress').max),
            detail: q('selftest-status').textContent,
          };
        });
        bar.update({ ...snap, rate: `${snap.value} / ${snap.max} cases` });
        await new Promise((r) => setTimeout(r, 500));
      }
      const out = await running;
      bar.done(`selftest: ${out.results.failed ? `${out.results.failed} FAILED` : 'all passed'}`);
      r = { ...out, runtime: 'page', userAgent: await page.evaluate(() => navigator.userAgent) };
      if (errors.length) say(`page errors:\n  ${errors.join('\n  ')}`);
    } finally {
      await browser.close();
    }
  }
  const { toCsv, toJson } = nodeRunner ?? demo.exporter;
  process.stdout.write(`${r.table}\n`);
  const outDir = resolve(opts.runner.out ?? join(root, 'out'));
  mkdirSync(outDir, { recursive: true });
  const record = {
    command: 'selftest',
    runtime: r.runtime,
    adapter: r.adapter,
    ...(r.userAgent ? { userAgent: r.userAgent } : { node: process.version }),
    toleranceScale,
    results: r.results,
    wallSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(join(outDir, 'selftest.json'), toJson(record));
  writeFileSync(
    join(outDir, 'selftest.csv'),
    toCsv(r.results.rows.map((x) => ({ ...x, adapter: `${r.adapter.vendor} ${r.adapter.architecture} ${r.adapter.description}` }))),
  );
  say(`wrote ${join(outDir, 'selftest.json')}\nwrote ${join(outDir, 'selftest.csv')}`);
  if (r.results.failed) say(`selftest: ${r.results.failed} of ${r.results.rows.length} cases FAILED`);
  return r.results.failed || !r.results.rows.length ? 1 : 0;
}
