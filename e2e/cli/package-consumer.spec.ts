// The packed tarball in a fresh project: strict types of both entries, the README's Node and page examples trained against the float64 reference.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test, expect } from '@playwright/test';
import { createConsumerProject, readmeExample, serveStatic, type ConsumerProject } from '../consumer-project.ts';

interface Run {
  status: string;
  loss: number[];
  valAcc: number[];
}

const cifarDir = process.env.CIFAR10_DIR || resolve(import.meta.dirname, '../../../shared/cifar10');
const pageExample = readmeExample('## Use it in your own page');
const nodeExample = readmeExample('## Use it in Node');
let project: ConsumerProject;
let referenceRun: Run;

/** The last line of a script's stdout, as JSON (the examples print one JSON line). */
const lastJson = (out: string): Run => JSON.parse(out.trim().split('\n').at(-1)!) as Run;

/** A GPU (f32) run follows the float64 one step by step, to f32 accuracy. */
function expectFollowsReference(got: Run, label: string): void {
  expect(got.status, label).toBe('completed');
  expect(got.loss, label).toHaveLength(referenceRun.loss.length);
  got.loss.forEach((l, i) =>
    expect(Math.abs(l - referenceRun.loss[i]!) / referenceRun.loss[i]!, `${label} step ${i + 1}`).toBeLessThan(1e-3),
  );
  // 100 validation rows: f32 rounding may move a row or two across a decision boundary
  got.valAcc.forEach((a, i) => expect(Math.abs(a - referenceRun.valAcc[i]!), `${label} val check ${i}`).toBeLessThanOrEqual(0.02 + 1e-12));
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(300_000);
  project = createConsumerProject();
  writeFileSync(join(project.dir, 'index.html'), pageExample);
  writeFileSync(join(project.dir, 'train.mjs'), nodeExample);
  referenceRun = lastJson(project.run('node', ['reference-curve.mjs'], { CIFAR10_DIR: cifarDir }));
  expect(referenceRun.loss).toHaveLength(20); // 500 images, batch 50, 2 epochs
  expect(referenceRun.loss[0]!).toBeGreaterThan(2.0); // ~ln 10 at the start
});

test.afterAll(() => {
  if (project && !process.env.KEEP_CONSUMER) rmSync(project.dir, { recursive: true, force: true });
});

test('the README examples are complete programs under 20 lines', () => {
  for (const [name, text] of [
    ['page', pageExample],
    ['node', nodeExample],
  ] as const) {
    expect(text.trimEnd().split('\n').length, name).toBeLessThan(20);
    expect(text, name).toMatch(/from 'webgpu-batchnorm(\/node)?'/);
  }
});

test('the tarball holds dist/ and package.json only: no sources, tests, benchmarks or data', () => {
  const files = project
    .run('tar', ['-tzf', project.tarball])
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  expect(files).toContain('dist/index.js');
  expect(files).toContain('dist/node.d.ts');
  expect(files).toContain('dist/engine.js');
  expect(files).toContain('dist/engine.d.ts');
  expect(files.filter((f) => !(f.startsWith('dist/') || f === 'package.json' || f === 'README.md'))).toEqual([]);
  expect(files.filter((f) => /\.(wgsl|bin|tar\.gz)$|spec|test|bench/.test(f))).toEqual([]);
  // the README states the tarball's size: it stays within 15% of the real one
  const stated = /webgpu-batchnorm-[\d.]+\.tgz` \((\d+) kB/.exec(readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8'));
  expect(stated, 'README states the tarball size').not.toBeNull();
  const kB = statSync(project.tarball).size / 1000;
  expect(Math.abs(kB - Number(stated![1])) / kB, `tarball ${kB.toFixed(0)} kB, README says ${stated![1]} kB`).toBeLessThan(0.15);
});

test('the browser entries (index, engine) import no Node module (only the ./node entry does)', () => {
  const dist = join(project.dir, 'node_modules/webgpu-batchnorm/dist');
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(dist, file), 'utf8');
    expect(text, file).not.toMatch(/^import[^;]*from\s*["']node:/m);
    for (const m of text.matchAll(/^(?:import|export)[^;]*?from\s*["'](\.[^"']+)["']/gm)) visit(join(dirname(file), m[1]!));
  };
  visit('index.js');
  expect(seen.size).toBeGreaterThan(1); // index.js and the chunk it re-exports
  visit('engine.js');
  expect(readFileSync(join(dist, 'node.js'), 'utf8')).toMatch(/from\s*["']node:fs["']/);
});

test('a strict tsc --noEmit of a file importing webgpu-batchnorm, webgpu-batchnorm/engine and webgpu-batchnorm/node (and the Node example) passes', () => {
  test.setTimeout(180_000);
  project.run('npx', ['tsc', '-p', '.']);
});

test('the Node example trains on Dawn and follows the float64 reference loss curve', () => {
  test.setTimeout(180_000);
  // webgpu-batchnorm picks SwiftShader by itself where no GPU device node exists
  const run = lastJson(project.run('node', ['train.mjs'], { CIFAR10_DIR: cifarDir }));
  console.log(`Node (Dawn): loss ${run.loss[0]!.toFixed(4)} -> ${run.loss.at(-1)!.toFixed(4)}, val ${run.valAcc.join(' ')}`);
  expectFollowsReference(run, 'node');
});

test("the page example, built by the project's own Vite, trains in Chromium and follows the float64 reference", async ({ page }) => {
  test.setTimeout(300_000);
  project.run('npx', ['vite', 'build', '--logLevel', 'warn']);
  const { url, server } = await serveStatic(join(project.dir, 'dist'), cifarDir);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // the loader probes index.json and data_batch_2..5 on a static server (and the browser asks for a favicon): those 404s are expected
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 404/.test(m.text())) errors.push(m.text());
  });
  try {
    await page.goto(url);
    await expect(page.locator('#out')).toContainText('"status"', { timeout: 240_000 });
    const run = JSON.parse((await page.locator('#out').textContent())!) as Run;
    console.log(`page (Chromium): loss ${run.loss[0]!.toFixed(4)} -> ${run.loss.at(-1)!.toFixed(4)}, val ${run.valAcc.join(' ')}`);
    expectFollowsReference(run, 'page');
  } finally {
    server.close();
  }
  expect(errors).toEqual([]);
});
