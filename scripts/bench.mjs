#!/usr/bin/env node
// `npm run bench`: serves bench/bench.html with Vite on 127.0.0.1, runs it in headless Chromium with WebGPU
// (unquantized timestamps), prints readable tables, and with --json one JSON object as the last line.
//   npm run bench -- [--json] [--only matmul,bn] [--reps N] [--detail] [--sweep-epochs N] [--peers tfjs,torch] [--python PATH] [--sizes large [--force]]
// TF.js runs in the page (unless --peers leaves it out); PyTorch runs from here, as a Python subprocess, after the page.
import { createServer } from 'vite';
import { chromium } from 'playwright';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = await createServer({
  root,
  configFile: join(root, 'vite.config.ts'),
  logLevel: 'warn',
  // no HMR: an edit to a source file must not reload the page in the middle of a measurement
  server: { host: '127.0.0.1', port: Number(process.env.BENCH_PORT ?? 5190), strictPort: false, hmr: false },
  // Pre-bundle TF.js up front: discovering it mid-run would make Vite reload the page.
  optimizeDeps: {
    include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-core/dist/register_all_gradients'],
  },
});
let browser;
let code = 0;
try {
  const { formatReport } = await server.ssrLoadModule('/bench/report.ts');
  const { parseBenchArgs } = await server.ssrLoadModule('/bench/args.ts');
  const { findChromium, webgpuChromiumArgs } = await server.ssrLoadModule('/e2e/find-chromium.ts');
  const args = parseBenchArgs(process.argv.slice(2));
  // the experiments and sweep sections load CIFAR-10 from the dev server: point its plugin at the files, found as
  // `npm run experiment` finds them ($CIFAR10_DIR, data/, the sample in ../shared/cifar10; no download here)
  if (args.only && /experiments|sweep/.test(args.only)) {
    const { findData } = await import('./experiment/find-data.mjs');
    const found = await findData(
      root,
      () => server.ssrLoadModule('/src/data/locate.ts'),
      undefined,
      (m) => process.stderr.write(`${m}\n`),
    );
    process.env.CIFAR10_DIR = found.dir;
  }
  await server.listen();
  const base = server.resolvedUrls.local[0];
  const query = new URLSearchParams({ reps: String(args.reps) });
  if (args.only) query.set('only', args.only);
  if (args.detail) query.set('detail', '1');
  if (args.sweepEpochs) query.set('sweepEpochs', String(args.sweepEpochs));
  if (args.sizes === 'large') query.set('sizes', 'large');
  if (args.force) query.set('force', '1');
  const tfjsAsked = !args.peers.length || args.peers.includes('tfjs');
  if (!tfjsAsked) query.set('tfjs', '0');
  if (args.dawnEnable.length || args.dawnDisable.length)
    throw new Error('--dawn-enable/--dawn-disable apply to the Node bench (npm run bench:node) only');
  browser = await chromium.launch({ executablePath: findChromium(), args: [...webgpuChromiumArgs, '--enable-webgpu-developer-features'] });
  const page = await browser.newPage();
  page.on('console', (m) => process.stderr.write(`${m.type() === 'log' ? '' : `[${m.type()}] `}${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`[pageerror] ${e.message}\n`));
  await page.goto(`${base}bench/bench.html?${query}`);
  const report = await page.evaluate(() => window.benchDone);
  const { makeTorchSpec, mergePeers } = await server.ssrLoadModule('/bench/peers/merge.ts');
  const { runTorchPeer } = await server.ssrLoadModule('/bench/peers/torch.ts');
  const torch = args.peers.includes('torch')
    ? await runTorchPeer(args.python, makeTorchSpec(report))
    : { reason: 'not asked for (--peers torch)' };
  const tfjs = !tfjsAsked
    ? { reason: 'not asked for (--peers tfjs)' }
    : report.tfjsTimer
      ? { name: 'TF.js webgpu (in the page)', timer: report.tfjsTimer }
      : { reason: 'no section with a TF.js peer (matmul, training) was chosen' };
  mergePeers(report, { tfjs, torch });
  console.log(formatReport(report));
  if (args.json) console.log(JSON.stringify(report));
} catch (e) {
  process.stderr.write(`bench failed: ${process.env.BENCH_DEBUG ? e?.stack : (e?.message ?? e)}\n`);
  code = 1;
} finally {
  await browser?.close();
  await server.close();
}
process.exit(code);
