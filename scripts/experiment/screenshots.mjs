#!/usr/bin/env node
// Screenshots for the README: the demo page after a real (reduced) autorun of every panel, saved per section.
//   node scripts/experiment/screenshots.mjs [query] [outDir]      (default docs/screenshots)
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { createDemoServer } from './server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const query =
  process.argv[2] ??
  'run=forward,speedup,batchnorm,sweep&autorun=1&s.numScales=10&s.epochs=5&p.sizes=100x500,200x500,500x500,1000x500,100x2000&p.reps=10';
const outDir = resolve(process.argv[3] ?? join(root, 'docs', 'screenshots'));

const demo = await createDemoServer(root);
let browser;
try {
  const { base, data: found } = await demo.listen();
  const { executablePath, args } = await demo.browserLaunch();
  const url = `${base}demo/?${query}`;
  process.stderr.write(`CIFAR-10: ${found.dir}\npage: ${url}\n`);
  browser = await chromium.launch({ executablePath, args });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(url);
  const t0 = Date.now();
  let last = '';
  while ((await page.evaluate(() => document.body.dataset.autorun)) !== 'done') {
    const line = await page.getByTestId('autorun-status').textContent();
    if (line !== last) process.stderr.write(`${Math.round((Date.now() - t0) / 1000)} s: ${line}\n`);
    last = line;
    await page.waitForTimeout(2000);
  }
  process.stderr.write(`${await page.getByTestId('autorun-status').textContent()}\n`);
  await page.evaluate(() => window.scrollTo(0, 0));
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, 'page.png'), fullPage: true });
  const data = await page.locator('#dataset').boundingBox();
  await page.screenshot({ path: join(outDir, 'top.png'), clip: { x: 0, y: 0, width: 1280, height: Math.ceil(data.y + data.height + 8) } });
  for (const id of ['forward', 'batchnorm', 'sweep', 'speedup', 'math', 'share']) {
    await page.locator(`#${id}`).screenshot({ path: join(outDir, `${id}.png`) });
  }
  process.stderr.write(`wrote ${outDir}/{page,top,forward,batchnorm,sweep,speedup,math,share}.png\n`);
} finally {
  await browser?.close();
  await demo.close();
}
