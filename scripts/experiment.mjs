#!/usr/bin/env node
// `npm run experiment -- batchnorm|sweep|batchsize|forward|speedup|selftest [options]`: one experiment of the demo page, from the terminal.
// --runtime page (default): Vite serves the page, Chromium opens it with the settings in the URL and autorun=1 (what a shared
// link does). --runtime node: the same experiment code (demo/experiments/) runs in this process on Dawn, no browser; its
// charts are drawn by the page from the results where Chromium is installed. Either way: a progress bar in the terminal,
// then the results (JSON, CSV) and the charts (PNG) in --out.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commands, flagOf, helpText, parseArgs, runtimeOf } from './experiment/args.mjs';
import { cliOptionNamer, failedRuns, parseFieldText, parseRunnerNumber, prepareOutDir } from './experiment/checks.mjs';
import { findData } from './experiment/find-data.mjs';
import { createProgressBar } from './experiment/progress.mjs';
import { printSummary } from './experiment/summary.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m) => process.stderr.write(`${m}\n`);

/** The Node runtime's code (scripts/experiment/node-runner.ts and what it imports), bundled for plain Node. */
async function loadNodeRunner() {
  const { bundleForNode } = await import('./bundle-node.mjs');
  const outfile = join(root, 'node_modules', '.cache', 'webgpu-batchnorm', 'experiment-node.mjs');
  await bundleForNode(join(root, 'scripts/experiment/node-runner.ts'), outfile, { sourcemap: 'inline' });
  return import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
}

async function main() {
  const started = performance.now();
  const argv = process.argv.slice(2);
  const runtime = runtimeOf(argv);
  if (!['page', 'node'].includes(runtime)) throw new Error(`--runtime must be page or node, got ${runtime}`);
  // The page's own modules give the options and their parsing: through Vite for the page, bundled for Node.
  const nodeRunner = runtime === 'node' ? await loadNodeRunner() : null;
  const demo = nodeRunner ? null : await (await import('./experiment/server.mjs')).createDemoServer(root, say);
  try {
    const urlState = nodeRunner ? nodeRunner.urlState : demo.urlState;
    const { toCsv, toJson } = nodeRunner ?? demo.exporter;
    const opts = parseArgs(argv, urlState.panelFields);
    if (opts.help || !opts.command) {
      process.stdout.write(`${helpText(urlState.panelFields, urlState.formatField)}\n`);
      process.exitCode = opts.help ? 0 : 2;
      return;
    }
    if (opts.command === 'selftest') {
      const { runSelfTestCommand } = await import('./experiment/selftest.mjs');
      process.exitCode = await runSelfTestCommand({ root, opts, nodeRunner, demo, say, started });
      return;
    }
    const cmd = commands[opts.command];
    const { state, errors } = urlState.readPageState('');
    if (errors.length) throw new Error(errors.join('; '));
    for (const [key, text] of Object.entries(opts.fieldText)) {
      const f = urlState.panelFields[cmd.panel].find((x) => x.key === key);
      state.panels[cmd.panel][key] = parseFieldText(f, text, flagOf(key), urlState.parseField);
    }
    parseRunnerNumber('--timeout', opts.runner.timeout, { min: 1, what: 'of seconds' });
    parseRunnerNumber('--port', opts.runner.port, { min: 1, max: 65535, integer: true });
    // The page runtime: the sizes that need no device (speedup's element bound, the memory budget) before the page opens;
    // the page checks the device's limits when it starts the run. The Node runtime checks both in runInNode, limits
    // first, once it has the device. (demo/size-limits.ts either way.)
    if (demo) {
      const settings = state.panels[cmd.panel];
      const option = cliOptionNamer(urlState.panelFields[cmd.panel], urlState.formatField, settings, opts.fieldText);
      demo.sizeLimits.checkPlannedSizes(cmd.panel, settings, null, option);
    }
    // the results folder is made (or refused) now, not after the run
    const outDir = prepareOutDir(opts.runner.out ?? join(root, 'out'), `--out ${opts.runner.out ?? 'out'}`);
    state.run = [cmd.panel];
    state.autorun = true;
    state.model = opts.runner.model ?? 'gpu';
    if (opts.runner.loseGpuAt !== undefined) {
      state.loseGpuAt = Number(opts.runner.loseGpuAt);
      if (!/^\d+$/.test(opts.runner.loseGpuAt.trim()) || state.loseGpuAt < 1)
        throw new Error(`--lose-gpu-at must be a step number >= 1, got ${opts.runner.loseGpuAt}`);
    }

    let out;
    if (nodeRunner) {
      // the forward check and the speedup make their own inputs: no CIFAR-10 (nor its download) for them
      const trains = !['forward', 'speedup'].includes(cmd.panel);
      const data = trains ? await findData(root, async () => nodeRunner.locate, opts.runner.data, say) : { dir: null, how: 'not needed' };
      say(`${opts.command}: ${cmd.what} (Node, Dawn)`);
      if (trains) say(`CIFAR-10: ${data.dir} (${data.how})`);
      const bar = createProgressBar();
      const r = await nodeRunner.runInNode({
        command: opts.command,
        panel: cmd.panel,
        settings: state.panels[cmd.panel],
        optionTexts: opts.fieldText,
        model: state.model,
        dataDir: data.dir,
        bar,
        say,
      });
      bar.done(`${opts.command}: ${r.status}`);
      const record = {
        command: opts.command,
        runtime: 'node',
        status: r.status,
        adapter: r.adapter,
        node: process.version,
        data: data.dir,
        dataset: r.dataset,
        results: r.results,
      };
      let files = [];
      if (r.results && cmd.panel !== 'forward') {
        const { renderCharts } = await import('./experiment/render-charts.mjs');
        const charts = await renderCharts(root, cmd.panel, r.results, { chromiumPath: opts.runner.chromium, say });
        if (charts.skipped) say(`charts: ${charts.skipped}`);
        files = charts.files;
      }
      out = { record, rows: r.rows, files, shots: [], errors: [] };
    } else {
      const { runInPage } = await import('./experiment/page-runner.mjs');
      out = await runInPage({ demo, opts, cmd, state, urlState, say });
    }

    const record = { ...out.record, wallSeconds: (performance.now() - started) / 1000 };
    const written = [];
    const put = (name, content) => {
      writeFileSync(join(outDir, name), content);
      written.push(join(outDir, name));
    };
    put(`${opts.command}.json`, toJson(record));
    if (out.rows.length) put(`${opts.command}.csv`, toCsv(out.rows));
    for (const f of out.files) put(f.name, f.bytes);
    written.push(...out.shots);
    printSummary(opts.command, record.results, say);
    for (const w of written) say(`wrote ${w}`);
    if (out.errors.length) say(`page errors:\n  ${out.errors.join('\n  ')}`);
    if (!/^done/.test(record.status ?? '') || !record.results) {
      say(`${opts.command} did not finish: ${record.status}`);
      process.exitCode = 1;
    }
    const failed = failedRuns(record.results);
    if (failed.length) {
      say(`${opts.command}: ${failed.length} run${failed.length > 1 ? 's' : ''} failed:\n  ${failed.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    await demo?.close();
  }
}

main().catch((e) => {
  say(`experiment: ${process.env.EXPERIMENT_DEBUG ? e.stack : e.message}`);
  process.exitCode = 1;
});
