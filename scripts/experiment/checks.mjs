// Checks `npm run experiment` makes before any training: strict numbers naming the flag, the --out folder, the CIFAR-10 files, how size messages name a flag (the sizes themselves: demo/size-limits.ts, shared with the page), and the runs a record says failed.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { flagOf } from './args.mjs';

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A panel field's value from its flag's text: decimal only (no 0x, 0b, Infinity or empty text), then the page's own
 * parser and bounds; every error starts with the flag.
 *   parseFieldText(epochsField, '0x3e8', '--epochs', parseField); // Error: --epochs 0x3e8: write a decimal integer
 *   parseFieldText(epochsField, '3', '--epochs', parseField); // 3
 */
export function parseFieldText(field, text, flag, parseField) {
  const t = text.trim();
  if (field.type === 'int' && !INT.test(t)) throw new Error(`${flag} ${JSON.stringify(text)}: write a decimal integer`);
  if (field.type === 'float' && !DECIMAL.test(t))
    throw new Error(`${flag} ${JSON.stringify(text)}: write a decimal number like 0.001 or 1e-3`);
  try {
    return parseField(field, text);
  } catch (e) {
    throw new Error(`${flag} ${text}: ${e.message}`);
  }
}

/**
 * A runner option's number: decimal, finite, at least `min` (an integer when `integer`); undefined when not given.
 *   parseRunnerNumber('--timeout', 'abc', { min: 1, what: 'of seconds' }); // Error: --timeout "abc": write a decimal number of seconds >= 1
 *   parseRunnerNumber('--port', '5190', { min: 1, max: 65535, integer: true }); // 5190
 */
export function parseRunnerNumber(flag, text, { min, max = Number.MAX_SAFE_INTEGER, integer = false, what = 'number' }) {
  if (text === undefined) return undefined;
  const t = String(text).trim();
  const v = Number(t);
  const ok = (integer ? INT : DECIMAL).test(t) && Number.isFinite(v) && v >= min && v <= max;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  if (!ok) throw new Error(`${flag} ${JSON.stringify(text)}: write a decimal ${integer ? 'integer' : 'number'} ${what} ${range}`);
  return v;
}

/**
 * Make sure the --out folder can take the results before the run starts (created when missing); returns its path.
 *   prepareOutDir('out/sweep', '--out out/sweep'); // '/abs/out/sweep'
 *   prepareOutDir('notes.txt', '--out notes.txt'); // Error: --out notes.txt: exists and is not a folder
 */
export function prepareOutDir(dir, what) {
  const path = resolve(dir);
  if (existsSync(path) && !statSync(path).isDirectory()) throw new Error(`${what}: ${path} exists and is not a folder`);
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK);
  } catch (e) {
    throw new Error(`${what}: cannot write to ${path} (${e.code ?? e.message})`);
  }
  return path;
}

/** Bytes in one CIFAR-10 record: the label byte and 32x32x3 pixels. */
const RECORD_BYTES = 3073;

/**
 * Each CIFAR-10 batch file in `dir` must be a plain file of whole records, at least one: the error names the file.
 *   checkCifarFiles('/data/cifar-10-batches-bin'); // Error: .../data_batch_1.bin is empty (0 bytes): ...
 */
export function checkCifarFiles(dir) {
  const names = readdirSync(dir).filter((n) => /^(data_batch_\d+|test_batch)\.bin$/.test(n));
  if (!names.some((n) => n.startsWith('data_batch_'))) throw new Error(`CIFAR-10 folder ${dir} has no data_batch_*.bin file`);
  for (const name of names) {
    const path = join(dir, name);
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`CIFAR-10 file ${path} is not a file (a folder or something else is in its place)`);
    if (st.size === 0) throw new Error(`CIFAR-10 file ${path} is empty (0 bytes); a batch file holds records of ${RECORD_BYTES} bytes`);
    if (st.size % RECORD_BYTES !== 0)
      throw new Error(`CIFAR-10 file ${path} is ${st.size} bytes, not a whole number of ${RECORD_BYTES}-byte records (truncated?)`);
  }
}

/**
 * Names a setting in a size message as the user typed it: the flag and its text (`--hidden 100000`), else the flag and
 * the value in use. For demo/size-limits.ts's checkPlannedSizes, which the page calls with its field labels.
 *   cliOptionNamer(fields, formatField, { hidden: [100000] }, { hidden: '100000' })('hidden'); // '--hidden 100000'
 */
export function cliOptionNamer(fields, formatField, settings, texts = {}) {
  return (key) => {
    const f = fields.find((x) => x.key === key);
    return `${flagOf(key)} ${texts[key] ?? (f ? formatField(f, settings[key]) : settings[key])}`;
  };
}

/**
 * The runs of a results record that failed (status 'failed'), as their messages, wherever they sit in the record.
 *   failedRuns({ runs: [{ status: 'failed', message: 'failed at step 1: ...' }] }); // ['failed at step 1: ...']
 */
export function failedRuns(results) {
  const found = [];
  const walk = (v, depth) => {
    if (!v || typeof v !== 'object' || depth > 6) return;
    if (v.status === 'failed') found.push(String(v.message ?? 'failed'));
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x, depth + 1);
  };
  walk(results, 0);
  return found;
}

/**
 * A Node run's status line: failed when the device reported GPU errors no scope caught (each also said on stderr by
 * the caller), else stopped or done; a status not starting with "done" makes the CLI exit non-zero.
 *   runStatus([{ message: 'Buffer size (1234000640) exceeds the max buffer size limit' }], false, 3.2);
 *   // 'failed: 1 uncaptured GPU error (first: Buffer size (1234000640) exceeds the max buffer size limit)'
 */
export function runStatus(gpuErrors, stopped, seconds) {
  if (gpuErrors.length)
    return `failed: ${gpuErrors.length} uncaptured GPU error${gpuErrors.length > 1 ? 's' : ''} (first: ${gpuErrors[0].message.split('\n')[0]})`;
  return stopped ? `stopped after ${seconds.toFixed(1)} s` : `done in ${seconds.toFixed(1)} s`;
}

/**
 * A page run's status from its run control's text and the page's GPU lines (`GPU validation error in ...: ...`, device
 * losses, recoveries): failed when any line is an uncaptured GPU error, as a Node run is (runStatus), else the status.
 *   pageRunStatus('done in 3.1 s', ['GPU validation error in matmul: Buffer size (1234000640) exceeds ...']);
 *   // 'failed: 1 uncaptured GPU error (first: GPU validation error in matmul: Buffer size (1234000640) exceeds ...)'
 */
export function pageRunStatus(status, gpuLines) {
  const errors = gpuLines.filter((l) => /^GPU [a-z-]+ error\b/.test(l)).map((message) => ({ message }));
  return errors.length ? runStatus(errors, false, 0) : status;
}
