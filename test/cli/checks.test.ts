// The experiment CLI's checks before training (scripts/experiment/checks.mjs), against hand-computed sizes and messages.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript (no declarations)
import * as checks from '../../scripts/experiment/checks.mjs';
import { formatField, panelFields, parseField, type FieldSpec, type PanelName, type PanelSettings } from '../../demo/url-state.ts';
import { checkPlannedSizes } from '../../demo/size-limits.ts';

const epochs: FieldSpec = { key: 'epochs', label: 'epochs', type: 'int', default: 10, min: 1, max: 1000 };
const lr: FieldSpec = { key: 'lr', label: 'learning rate', type: 'float', default: 1e-3, min: 0 };
const tmp = mkdtempSync(join(tmpdir(), 'wb-checks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('experiment CLI checks', () => {
  it('parses decimal numbers only, naming the flag', () => {
    expect(checks.parseFieldText(epochs, '3', '--epochs', parseField)).toBe(3);
    expect(checks.parseFieldText(lr, '1e-3', '--lr', parseField)).toBe(0.001);
    expect(checks.parseFieldText(lr, '.5', '--lr', parseField)).toBe(0.5);
    for (const bad of ['0x3e8', '0b11', '1e3', '3.0', ' ', 'abc'])
      expect(() => checks.parseFieldText(epochs, bad, '--epochs', parseField), bad).toThrow(
        `--epochs ${JSON.stringify(bad)}: write a decimal integer`,
      );
    for (const bad of ['Infinity', '0x10', 'NaN', '1e', '--1'])
      expect(() => checks.parseFieldText(lr, bad, '--lr', parseField), bad).toThrow(`--lr ${JSON.stringify(bad)}: write a decimal number`);
    expect(() => checks.parseFieldText(epochs, '1001', '--epochs', parseField)).toThrow('--epochs 1001: epochs: must be at most 1000');
    expect(checks.parseRunnerNumber('--timeout', undefined, { min: 1 })).toBe(undefined);
    expect(checks.parseRunnerNumber('--timeout', '2.5', { min: 1 })).toBe(2.5);
    expect(() => checks.parseRunnerNumber('--timeout', 'abc', { min: 1, what: 'of seconds' })).toThrow(
      '--timeout "abc": write a decimal number of seconds >= 1',
    );
    expect(() => checks.parseRunnerNumber('--timeout', '0', { min: 1 })).toThrow('--timeout "0"');
    expect(() => checks.parseRunnerNumber('--port', '70000', { min: 1, max: 65535, integer: true })).toThrow('from 1 to 65535');
  });

  it('prepares --out before the run: a file in its place is refused, a missing folder is made', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    expect(() => checks.prepareOutDir(file, `--out ${file}`)).toThrow(`--out ${file}: ${file} exists and is not a folder`);
    expect(checks.prepareOutDir(join(tmp, 'new', 'deeper'), '--out')).toBe(join(tmp, 'new', 'deeper'));
  });

  it('names an empty, truncated or folder batch file', () => {
    const make = (name: string, fill: (dir: string) => void) => {
      const dir = join(tmp, name);
      mkdirSync(dir);
      fill(dir);
      return dir;
    };
    const empty = make('empty', (d) => writeFileSync(join(d, 'data_batch_1.bin'), ''));
    expect(() => checks.checkCifarFiles(empty)).toThrow(`CIFAR-10 file ${join(empty, 'data_batch_1.bin')} is empty (0 bytes)`);
    const folder = make('folder', (d) => mkdirSync(join(d, 'data_batch_1.bin')));
    expect(() => checks.checkCifarFiles(folder)).toThrow(`CIFAR-10 file ${join(folder, 'data_batch_1.bin')} is not a file`);
    const cut = make('cut', (d) => writeFileSync(join(d, 'data_batch_1.bin'), new Uint8Array(3073 * 2 + 5)));
    expect(() => checks.checkCifarFiles(cut)).toThrow('is 6151 bytes, not a whole number of 3073-byte records');
    const none = make('none', () => {});
    expect(() => checks.checkCifarFiles(none)).toThrow('has no data_batch_*.bin file');
    const good = make('good', (d) => writeFileSync(join(d, 'data_batch_1.bin'), new Uint8Array(3073 * 3)));
    expect(() => checks.checkCifarFiles(good)).not.toThrow();
  });

  it("checks the net's tensors against the limits, naming the flag as typed (demo/size-limits.ts; sizes computed by hand)", () => {
    const limits = { maxBufferSize: 1073741824, maxStorageBufferBindingSize: 1073741824 };
    const check = (panel: PanelName, settings: PanelSettings, texts: Record<string, string>, lim: typeof limits | null = limits) =>
      checkPlannedSizes(panel, settings, lim, checks.cliOptionNamer(panelFields[panel], formatField, settings, texts));
    const net = { numTrain: 1000, numVal: 1000, updateRule: 'adam' };
    // 3072 x 100000 x 4 = 1 228 800 000 bytes
    expect(() => check('batchnorm', { ...net, hidden: [100000], batchSize: 50 }, { hidden: '100000' })).toThrow(
      '--hidden 100000: W1 is 3072x100000 f32 = 1.23 GB > maxBufferSize 1.07 GB',
    );
    // W2 of 100 x 2700000 = 1.08 GB; W1 3072 x 100 fits; no text typed: the value in use, as the field writes it
    expect(() => check('batchnorm', { ...net, hidden: [100, 2700000], batchSize: 50 }, {})).toThrow(
      '--hidden 100,2700000: W2 is 100x2700000 f32 = 1.08 GB > maxBufferSize 1.07 GB',
    );
    const bs = { ...net, hidden: [16], batchSizes: [5, 100000], baselineBatch: 5, normalization: 'both' };
    expect(() => check('batchsize', bs, { batchSizes: '5,100000' })).toThrow(
      "--batch-sizes 5,100000: a minibatch's activations (batch 100000 x width 3072) is 100000x3072 f32 = 1.23 GB > maxBufferSize",
    );
    expect(() => check('batchnorm', { ...net, hidden: [100, 100, 100, 100, 100], batchSize: 50 }, {})).not.toThrow();
    expect(() => check('speedup', { sizes: [[40000, 1000]] }, { sizes: '40000x1000' }, null)).toThrow(
      '--sizes 40000x1000: 40000x1000 = 40000000 elements > 4194304',
    );
    expect(() => check('speedup', { sizes: [[1000, 2000]] }, {}, null)).not.toThrow();
  });

  it('finds failed runs anywhere in a results record', () => {
    const results = {
      runs: [
        { status: 'completed', message: 'completed after 2 of 2 steps' },
        { status: 'failed', message: 'failed at step 1: GPU validation error' },
      ],
      models: { a: { status: 'diverged' } },
    };
    expect(checks.failedRuns(results)).toEqual(['failed at step 1: GPU validation error']);
    expect(checks.failedRuns({ runs: [{ status: 'completed' }] })).toEqual([]);
    expect(checks.failedRuns(null)).toEqual([]);
  });

  it('a Node run with uncaptured GPU errors is failed (so the CLI exits non-zero), else done or stopped', () => {
    const dawn = {
      kind: 'validation',
      message: 'Buffer size (1234000640) exceeds the max buffer size limit (1073741824).\n - While calling createBuffer',
      kernel: null,
    };
    expect(checks.runStatus([dawn, dawn], false, 3)).toBe(
      'failed: 2 uncaptured GPU errors (first: Buffer size (1234000640) exceeds the max buffer size limit (1073741824).)',
    );
    expect(checks.runStatus([], false, 3.4)).toBe('done in 3.4 s');
    expect(checks.runStatus([], true, 2)).toBe('stopped after 2.0 s');
    // the page runtime: the page's GPU lines, of which only uncaptured errors fail a finished run
    const lost = 'The GPU device was lost (destroyed). A run in progress goes on from its last checkpoint on a new device.';
    expect(checks.pageRunStatus('done in 3.1 s', [lost])).toBe('done in 3.1 s');
    expect(checks.pageRunStatus('done in 3.1 s', [lost, 'GPU validation error in matmul 3x4: Buffer size (1234000640) exceeds'])).toBe(
      'failed: 1 uncaptured GPU error (first: GPU validation error in matmul 3x4: Buffer size (1234000640) exceeds)',
    );
    expect(checks.pageRunStatus('done in 1 s', ['GPU out-of-memory error: a', 'GPU internal error: b'])).toMatch(
      /^failed: 2 uncaptured GPU errors/,
    );
  });
});
