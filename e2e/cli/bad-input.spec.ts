// Issue 24's bad inputs to `npm run experiment`, each tried as a newcomer would: a clear, early error naming the cause, a non-zero exit, no hang.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { runCli } from '../cli.ts';

let tmp = '';
test.beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wb-bad-input-'));
});
test.afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the CLI and expect a non-zero exit within `seconds`, the message on stderr, and no Dawn message alone on stdout. */
async function expectRefused(args: string[], message: string | RegExp, seconds = 60): Promise<void> {
  const t0 = Date.now();
  const r = await runCli(args);
  expect(r.code, r.stderr).not.toBe(0);
  if (typeof message === 'string') expect(r.stderr).toContain(`experiment: ${message}`);
  else expect(r.stderr).toMatch(message);
  expect(r.stdout).not.toMatch(/exceeds the max buffer size/);
  expect(Date.now() - t0, 'refused early, before any training').toBeLessThan(seconds * 1000);
}

test('--hidden 100000 on Dawn: W1 against the device limits, else the run against the memory budget, before anything is built', async () => {
  // W1 is 3072 x 100000 x 4 B = 1.23 GB: over SwiftShader's 2^30-byte maxBufferSize (the case); an adapter that
  // takes a buffer that big still refuses the run: 2 nets with Adam plan 10.0 GB, over the 4 GiB budget
  await expectRefused(
    ['batchnorm', '--runtime', 'node', '--hidden', '100000'],
    /experiment: --hidden 100000: (W1 is 3072x100000 f32 = 1\.23 GB > max(BufferSize|StorageBufferBindingSize) |the run plans 10\.0 GB .* > the memory budget 4\.29 GB)/,
  );
});

test('--batch-sizes 1000000: bounded as --batch-size is (4096), not a failed run that exits 0', async () => {
  await expectRefused(
    ['batchsize', '--runtime', 'node', '--batch-sizes', '1000000', '--train', '100', '--val', '100', '--epochs', '1', '--hidden', '16'],
    '--batch-sizes 1000000: batch sizes (normalized): each size must be at most 4096 (got "1000000")',
  );
});

test('--hidden 4096x30: over the memory budget on any adapter (every tensor fits the smallest limits), before anything is built', async () => {
  await expectRefused(
    ['batchnorm', '--runtime', 'node', '--hidden', '4096x30'],
    "--hidden 4096x30: the run plans 16.1 GB (the 2 models' parameters, gradients and adam state 16.0 GB, a step's activations (batch 50) 151 MB, 2000 images (uint8) 6.14 MB) > the memory budget 4.29 GB",
  );
});

test('--sizes 40000x1000 is over the speedup bound', async () => {
  await expectRefused(
    ['speedup', '--runtime', 'node', '--sizes', '40000x1000'],
    '--sizes 40000x1000: 40000x1000 = 40000000 elements > 4194304',
  );
});

test('--out naming an existing file is refused before training', async () => {
  const file = join(tmp, 'results.txt');
  writeFileSync(file, 'x');
  await expectRefused(['forward', '--runtime', 'node', '--out', file], `--out ${file}: ${file} exists and is not a folder`, 20);
});

test('numbers are decimal, and the message names the flag', async () => {
  await expectRefused(['batchnorm', '--runtime', 'node', '--epochs', '0x3e8'], '--epochs "0x3e8": write a decimal integer', 20);
  await expectRefused(
    ['batchnorm', '--runtime', 'node', '--timeout', 'abc'],
    '--timeout "abc": write a decimal number of seconds >= 1',
    20,
  );
  await expectRefused(['batchnorm', '--runtime', 'node', '--lr', 'Infinity'], '--lr "Infinity": write a decimal number', 20);
});

test('an empty --data= is an error, not the default lookup', async () => {
  await expectRefused(['batchnorm', '--runtime', 'node', '--data='], '--data needs a value, got an empty one', 20);
});

test('a 0-byte data_batch_1.bin, or a folder in its place, is named', async () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'data_batch_1.bin'), '');
  await expectRefused(
    ['batchnorm', '--runtime', 'node', '--data', empty],
    `CIFAR-10 file ${join(empty, 'data_batch_1.bin')} is empty (0 bytes)`,
    30,
  );
  const folder = join(tmp, 'folder');
  mkdirSync(join(folder, 'data_batch_1.bin'), { recursive: true });
  await expectRefused(
    ['batchnorm', '--runtime', 'node', '--data', folder],
    `CIFAR-10 file ${join(folder, 'data_batch_1.bin')} is not a file`,
    30,
  );
  expect(existsSync(join(tmp, 'batchnorm.json'))).toBe(false);
});

test('an uncaptured GPU error ends a Node run with a non-zero exit, said on stderr (not only Dawn on stdout)', async () => {
  // WB_TEST_UNCAPTURED_GPU_ERROR makes one invalid buffer outside any error scope (scripts/experiment/node-runner.ts)
  const r = await runCli(['forward', '--runtime', 'node', '--warmup', '2', '--out', join(tmp, 'gpu-error')], {
    WB_TEST_UNCAPTURED_GPU_ERROR: '1',
  });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/GPU validation error.*: /);
  expect(r.stderr).toContain('forward did not finish: failed: 1 uncaptured GPU error (first: ');
  // the same command without the hook exits 0
  const ok = await runCli(['forward', '--runtime', 'node', '--warmup', '2', '--out', join(tmp, 'gpu-ok')]);
  expect(ok.code, ok.stderr).toBe(0);
});
