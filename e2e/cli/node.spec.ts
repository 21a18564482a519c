// `npm run experiment -- ... --runtime node`: the experiments' code on Dawn in Node gives the page's numbers, as JSON, CSV and PNG.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, expect } from '@playwright/test';

const root = resolve(import.meta.dirname, '../..');

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, 'scripts', 'experiment.mjs'), ...args],
      { cwd: root, timeout: 200_000, env: { ...process.env, ...env } },
      (err, _stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
      },
    );
  });
}

interface Model {
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  status: string;
  kind: string;
}
interface Record1 {
  runtime: string;
  adapter: { architecture: string; runtime?: string };
  results: { settings: Record<string, unknown>; models: Record<string, Model> };
}

/** Experiment 1 with small nets: 100 training images, batch 50, 2 epochs (4 steps per model). */
const small = ['batchnorm', '--hidden', '16x2', '--train', '100', '--val', '100', '--epochs', '2'];

test("experiment 1 on --runtime node gives the page's loss curves and accuracies for the same seed (f32 tolerance), with JSON, CSV and PNG", async () => {
  test.setTimeout(300_000);
  const dirs = { node: mkdtempSync(join(tmpdir(), 'wb-node-')), page: mkdtempSync(join(tmpdir(), 'wb-page-')) };
  try {
    const node = await runCli([...small, '--runtime', 'node', '--out', dirs.node]);
    expect(node.code, node.stderr).toBe(0);
    expect(node.stderr).toMatch(/batchnorm: done in/);
    expect(node.stderr).toMatch(/\[#{30}\] 100% 8 \/ 8 steps/); // the terminal bar reached the end
    const page = await runCli([...small, '--out', dirs.page]);
    expect(page.code, page.stderr).toBe(0);
    const read = (d: string) => JSON.parse(readFileSync(join(d, 'batchnorm.json'), 'utf8')) as Record1;
    const n = read(dirs.node);
    const p = read(dirs.page);
    expect([n.runtime, p.runtime]).toEqual(['node', 'page']);
    expect(n.adapter.runtime).toBe('node'); // Dawn from the `webgpu` package, not Chromium
    expect(n.results.settings).toEqual(p.results.settings);
    const rel = Object.keys(n.results.models).flatMap((k) =>
      n.results.models[k]!.lossHistory.map(
        (l, i) => Math.abs(l - p.results.models[k]!.lossHistory[i]!) / Math.abs(p.results.models[k]!.lossHistory[i]!),
      ),
    );
    console.log(`node vs page: largest relative loss difference ${Math.max(...rel).toExponential(2)} over ${rel.length} steps`);
    for (const label of ['batchnorm', 'baseline']) {
      const a = n.results.models[label]!;
      const b = p.results.models[label]!;
      expect(a.status).toBe('completed');
      expect(a.lossHistory).toHaveLength(4);
      a.lossHistory.forEach((l, i) =>
        expect(
          Math.abs(l - b.lossHistory[i]!) / b.lossHistory[i]!,
          `${label} loss at step ${i + 1}: node ${l}, page ${b.lossHistory[i]}`,
        ).toBeLessThan(1e-4),
      );
      // accuracies count the same 100 images: an f32 tie may flip one of them at most
      for (const k of ['trainAccHistory', 'valAccHistory'] as const) {
        expect(a[k]).toHaveLength(b[k].length);
        a[k].forEach((v, i) => expect(Math.abs(v - b[k][i]!), `${label} ${k}[${i}]`).toBeLessThanOrEqual(0.01 + 1e-9));
      }
    }
    // the CSV holds every plotted point of the JSON, the same columns as the page's
    const csv = readFileSync(join(dirs.node, 'batchnorm.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(readFileSync(join(dirs.page, 'batchnorm.csv'), 'utf8').split('\n')[0]);
    const points = Object.values(n.results.models).reduce(
      (s, m) => s + m.lossHistory.length + m.trainAccHistory.length + m.valAccHistory.length,
      0,
    );
    expect(csv).toHaveLength(1 + points);
    expect(Number(csv[1]!.split(',')[3])).toBe(n.results.models.batchnorm!.lossHistory[0]);
    // the charts: drawn by the page from the Node results, where Chromium is present (here)
    for (const id of ['exp1-loss', 'exp1-train-acc', 'exp1-val-acc']) {
      expect(
        readFileSync(join(dirs.node, `${id}.png`))
          .subarray(1, 4)
          .toString('latin1'),
        id,
      ).toBe('PNG');
    }
  } finally {
    for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
  }
});

test('--runtime node without Chromium writes JSON and CSV and says that the charts were not drawn', async () => {
  test.setTimeout(120_000);
  const out = mkdtempSync(join(tmpdir(), 'wb-node-'));
  try {
    const r = await runCli(['speedup', '--sizes', '64x48', '--reps', '2', '--runtime', 'node', '--out', out], {
      CHROMIUM_PATH: join(out, 'no-chromium'),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('charts: no Chromium to draw the charts');
    const record = JSON.parse(readFileSync(join(out, 'speedup.json'), 'utf8'));
    expect(record.results.rows.map((x: { n: number; d: number }) => [x.n, x.d])).toEqual([[64, 48]]);
    expect(record.results.rows[0].dxDifference).toBeLessThan(1e-4); // the two backward variants agree on Dawn too
    // where the time goes: each variant's passes with their bytes (64 x 48 is one chunk: 5 graph passes, 1 closed form)
    // and the copy roof measured in the same run
    const row = record.results.rows[0];
    expect(record.results.copyGbps).toBeGreaterThan(0);
    expect(row.graphPasses.map((p: { label: string }) => p.label)).toEqual(['dbeta+dgamma', 'dxhat', 'dvar', 'dmu', 'dx']);
    const N = 64 * 48;
    const d = 48; // bytes by the rule of src/ops/batchnorm-traffic.ts, written out
    expect(row.graphPasses.map((p: { bytes: number }) => p.bytes)).toEqual([
      4 * (2 * N + 2 * d),
      4 * (2 * N + d),
      4 * (2 * N + 2 * d),
      4 * (3 * N + 4 * d),
      4 * (2 * N + d),
    ]);
    expect(row.alternativePasses.map((p: { bytes: number }) => p.bytes)).toEqual([4 * (3 * N + 4 * d)]);
    for (const p of [...row.graphPasses, ...row.alternativePasses]) {
      expect(p.ms).toBeGreaterThan(0);
      expect(p.gbps).toBeCloseTo(p.bytes / (p.ms * 1e6), 6);
    }
    const csv = readFileSync(join(out, 'speedup.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toContain('copyGbps');
    expect(csv.length).toBe(1 + 1 + 5 + 1); // header, the size row, 5 + 1 pass rows
    expect(existsSync(join(out, 'speedup.csv'))).toBe(true);
    expect(existsSync(join(out, 'speedup-time.png'))).toBe(false);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--runtime names a bad value', async () => {
  const r = await runCli(['batchnorm', '--runtime', 'deno']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('--runtime must be page or node, got deno');
});
