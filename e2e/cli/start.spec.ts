// `npm start` as a person runs it (scripts/start.mjs): it finds CIFAR-10, serves the demo page, and the page loads the data from it.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test, expect } from '@playwright/test';

const root = resolve(import.meta.dirname, '../..');
const sample = resolve(root, '../shared/cifar10');

test('npm start finds the data, serves the demo page, and the page loads CIFAR-10 from it', async ({ page }) => {
  const port = Number(process.env.E2E_PORT ?? 5174) + 31;
  // the lookup as on a fresh clone with the sample beside it (no $CIFAR10_DIR, no data/ folder)
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CIFAR10_DIR;
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs'), '--port', String(port)], { cwd: root, env });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  try {
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`npm start printed no URL in 60 s:\n${output}`)), 60_000);
      const look = () => {
        const m = /demo page: (http:\/\/127\.0\.0\.1:\d+\/demo\/)/.exec(output);
        if (m) {
          clearTimeout(timer);
          done(m[1]!);
        }
      };
      child.stderr.on('data', look);
      child.on('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`npm start exited (${code}) before serving:\n${output}`));
      });
    });
    expect(output).toContain(`CIFAR-10: reading the sample in ${sample}`);
    // the dev server hands out the files it found, byte for byte
    const file = await page.request.get(new URL('/data/cifar10/data_batch_1.bin', url).href);
    expect(file.status()).toBe(200);
    expect((await file.body()).length).toBe(statSync(join(sample, 'data_batch_1.bin')).size);
    await page.goto(url);
    await expect(page.getByTestId('dataset-status')).toContainText(/CIFAR-10 ready: \d+ training, \d+ validation/, { timeout: 60_000 });
  } finally {
    child.kill();
  }
});
