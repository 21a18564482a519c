// `npm run experiment -- batchnorm --lose-gpu-at 25`: the CLI prints the page's GPU status lines, and the run still finishes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { runCli } from '../cli.ts';

test('a GPU device lost at step 25 of experiment 1: the CLI says so, the run goes on from epoch 1 and is written out', async () => {
  test.setTimeout(240_000);
  const out = mkdtempSync(join(tmpdir(), 'wb-devloss-'));
  try {
    const r = await runCli([
      'batchnorm',
      '--hidden',
      '16x2',
      '--num-train',
      '200',
      '--num-val',
      '100',
      '--epochs',
      '2',
      '--batch-size',
      '10',
      '--lose-gpu-at',
      '25',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/GPU: The GPU device was lost \(destroyed/);
    expect(r.stderr).toMatch(/GPU: GPU device lost at step 2\d \(batchnorm network\): continuing on a new device from epoch 1/);
    expect(r.stderr).toContain('batchnorm: done');
    const record = JSON.parse(readFileSync(join(out, 'batchnorm.json'), 'utf8'));
    const bn = record.results.models.batchnorm;
    expect(bn.status).toBe('completed');
    expect(bn.recoveries).toHaveLength(1);
    expect(bn.recoveries[0].resumedFrom).toBe(20);
    expect(bn.lossHistory).toHaveLength(40);
    expect(record.results.models.baseline.recoveries).toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--lose-gpu-at takes a step number', async () => {
  const r = await runCli(['batchnorm', '--lose-gpu-at', 'soon']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('--lose-gpu-at must be a step number >= 1, got soon');
});
