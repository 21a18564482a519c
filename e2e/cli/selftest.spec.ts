// `npm run selftest -- --runtime node`: every kernel variant checked on Dawn against float64, the table printed, and a
// failing case (every tolerance scaled to 0 by --tolerance-scale) reported with a non-zero exit; the bundle for a bare server.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { selfTestKernels } from '../selftest-kernels.ts';
import { test, expect } from '@playwright/test';
import { runCli } from '../cli.ts';

interface Row {
  kernel: string;
  variant: string;
  shape: string;
  worstError: number;
  tolerance: number;
  pass: boolean;
}

/** The table's body lines (kernel ... pass|FAIL) from stdout. */
const tableLines = (stdout: string) => stdout.split('\n').filter((l) => / (pass|FAIL)$/.test(l));

test('selftest on --runtime node: every case passes with its worst error under its tolerance, exit 0; tolerance 0 fails, exit 1', async () => {
  test.setTimeout(400_000);
  const out = mkdtempSync(join(tmpdir(), 'wb-selftest-'));
  try {
    const ok = await runCli(['selftest', '--runtime', 'node', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^adapter: \S+/m);
    expect(ok.stdout).toMatch(/^features: /m);
    const lines = tableLines(ok.stdout);
    const record = JSON.parse(readFileSync(join(out, 'selftest.json'), 'utf8')) as {
      runtime: string;
      adapter: { runtime: string };
      results: { rows: Row[]; failed: number; skipped: string[] };
    };
    const rows = record.results.rows;
    expect(record.runtime).toBe('node');
    expect(record.adapter.runtime).toBe('node');
    expect(lines).toHaveLength(rows.length);
    expect(
      lines.every((l) => l.endsWith(' pass')),
      lines.join('\n'),
    ).toBe(true);
    for (const r of rows) {
      expect(r.pass, `${r.kernel} ${r.variant} ${r.shape}`).toBe(true);
      expect(r.worstError, `${r.kernel} ${r.variant} ${r.shape}`).toBeLessThanOrEqual(r.tolerance);
    }
    // every kernel family, and the GPU classes' plans
    const kernels = new Set(rows.map((r) => r.kernel));
    for (const k of selfTestKernels) expect(kernels.has(k), k).toBe(true);
    const mm = rows.filter((r) => r.kernel === 'matmul').map((r) => r.variant.split(' ')[0]);
    // each matmul variant ran on this adapter, or is listed as not run here with the reason (SwiftShader runs all seven)
    for (const v of ['block8', 'vec4', 'block8vec4', 'block8sg', 'tile128', 'tile64', 'tile128k16'])
      expect(mm.includes(v) || record.results.skipped.some((x) => x.startsWith(`matmul ${v} `)), v).toBe(true);
    expect(rows.filter((r) => /GPU plan/.test(r.variant))).toHaveLength(3);
    for (const v of ['graph, several chunks', 'alternative + ReLU, one chunk'])
      expect(
        rows.some((r) => r.variant === v),
        v,
      ).toBe(true);
    expect(rows.filter((r) => r.kernel === 'optimizer').map((r) => r.variant.split(',')[0])).toEqual([
      'sgd',
      'sgd_momentum',
      'rmsprop',
      'adam',
      'sgd_momentum',
      'adam',
    ]);
    // the GPUs' settings forced whatever this adapter picks: 8 elements a lane, 8 rows a lane, and (with subgroups) NVIDIA's 32 lanes
    const forced = ['optimizer adam, 3 steps, L2, 8 elements a lane', 'batchnorm forward train + test, 8 rows a lane'];
    if (!record.results.skipped.some((x) => x.startsWith('layer norm subgroups'))) forced.push('layer norm subgroups, 32 lanes');
    for (const v of forced)
      expect(
        rows.some((r) => `${r.kernel} ${r.variant}` === v),
        v,
      ).toBe(true);

    // The failure path: with every tolerance 0, each inexact case fails and is reported; the exact gathers still pass.
    const bad = await runCli(['selftest', '--runtime', 'node', '--out', out, '--tolerance-scale', '0']);
    expect(bad.code, bad.stderr).toBe(1);
    const badLines = tableLines(bad.stdout);
    expect(badLines.filter((l) => l.startsWith('matmul')).every((l) => l.endsWith(' FAIL'))).toBe(true);
    expect(badLines.filter((l) => l.startsWith('gather')).every((l) => l.endsWith(' pass'))).toBe(true);
    expect(bad.stderr).toMatch(/selftest: \d+ of \d+ cases FAILED/);
    const badRecord = JSON.parse(readFileSync(join(out, 'selftest.json'), 'utf8')) as { results: { failed: number; rows: Row[] } };
    expect(badRecord.results.failed).toBe(badRecord.results.rows.filter((r) => r.worstError > 0).length);
    expect(badRecord.results.failed).toBeGreaterThan(20);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the self-test bundled for a bare GPU server (npm run selftest:bundle) runs with only the webgpu package beside it', async () => {
  test.setTimeout(300_000);
  const root = resolve(import.meta.dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'wb-selftest-bundle-'));
  try {
    const file = join(dir, 'selftest-node.mjs');
    const build = spawnSync(process.execPath, [join(root, 'bench/build-node.mjs'), join(root, 'scripts/selftest-node.ts'), file], {
      encoding: 'utf8',
    });
    expect(build.status, build.stderr).toBe(0);
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(root, 'node_modules/webgpu'), join(dir, 'node_modules/webgpu'));
    const run = spawnSync(process.execPath, [file, '--out', join(dir, 'out')], { cwd: dir, encoding: 'utf8', timeout: 200_000 });
    expect(run.status, run.stderr).toBe(0);
    const lines = tableLines(run.stdout);
    expect(lines.length).toBeGreaterThan(30);
    expect(lines.every((l) => l.endsWith(' pass'))).toBe(true);
    expect(run.stdout).toMatch(new RegExp(`${lines.length} of ${lines.length} cases pass, 0 fail`));
    const record = JSON.parse(readFileSync(join(dir, 'out', 'selftest.json'), 'utf8')) as { results: { rows: Row[] } };
    expect(record.results.rows).toHaveLength(lines.length);
    const bad = spawnSync(process.execPath, [file, '--tolerance', '0'], { cwd: dir, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown option --tolerance');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
