// `npm run experiment -- batchsize` at a reduced size: the CLI drives the page headless and writes batchsize.json and PNG charts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { runCli } from '../cli.ts';

test('the batchsize command writes batchsize.json (per run: batch size, normalization, histories, best accuracies) and PNG charts', async () => {
  test.setTimeout(240_000);
  const out = mkdtempSync(join(tmpdir(), 'wb-batchsize-'));
  try {
    const r = await runCli([
      'batchsize',
      '--normalization',
      'layernorm',
      '--hidden',
      '16x2',
      '--train',
      '100',
      '--val',
      '100',
      '--epochs',
      '2',
      '--batch-sizes',
      '5,50',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('batchsize: done');
    const record = JSON.parse(readFileSync(join(out, 'batchsize.json'), 'utf8'));
    expect(record.command).toBe('batchsize');
    // the adapter the run used, whichever it is (SwiftShader headless without a GPU; the figures below hold on any)
    expect(record.adapter).toEqual(
      expect.objectContaining({ vendor: expect.any(String), architecture: expect.any(String), description: expect.any(String) }),
    );
    const runs = record.results.runs as {
      normalization: string | null;
      batchSize: number;
      trainAccHistory: number[];
      valAccHistory: number[];
      bestValAcc: number;
      bestTrainAcc: number;
      lossHistory: number[];
      status: string;
    }[];
    expect(runs.map((x) => [x.normalization, x.batchSize])).toEqual([
      [null, 5],
      ['layernorm', 5],
      ['layernorm', 50],
    ]);
    for (const x of runs) {
      expect(x.status).toBe('completed');
      expect(x.valAccHistory).toHaveLength(3); // first step, end of epochs 1 and 2
      expect(x.bestValAcc).toBe(Math.max(...x.valAccHistory));
      expect(x.bestTrainAcc).toBe(Math.max(...x.trainAccHistory));
      expect(x.lossHistory).toHaveLength(2 * Math.floor(100 / x.batchSize));
    }
    expect(record.results.settings.lr).toBeCloseTo(10 ** -3.5, 15);
    expect(record.results.settings.hidden).toEqual([16, 16]);
    for (const id of ['bsize-ln-train-acc', 'bsize-ln-val-acc']) {
      const png = readFileSync(join(out, `${id}.png`));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    }
    expect(existsSync(join(out, 'bsize-bn-val-acc.png')), 'no batchnorm charts when only layer norm ran').toBe(false);
    expect(r.stderr).toMatch(/layernorm, batch 50 +completed/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the batchsize command names a bad option value', async () => {
  const r = await runCli(['batchsize', '--normalization', 'groupnorm']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('normalization: must be one of both, batchnorm, layernorm');
});
