// The GPU self-test: every kernel variant the plans could pick on this adapter, at ragged shapes, against the float64 reference.
import type { GpuContext } from '../../src/index.ts';
import type { ProgressSink } from './common.ts';
import { makeMatmulCases } from './selftest-matmul.ts';
import { makeNormCases } from './selftest-norms.ts';
import { makeLossOptimGatherCases } from './selftest-misc.ts';

/** One error measure of a case and the threshold its e2e kernel spec holds it to (error <= tolerance passes). */
export interface SelfTestMeasure {
  what: string;
  error: number;
  tolerance: number;
}

/** One case: a kernel variant at one shape; `run` launches it on the GPU and measures it against the float64 reference. */
export interface SelfTestCase {
  kernel: string;
  variant: string;
  shape: string;
  run(gpu: GpuContext): Promise<SelfTestMeasure[]>;
}

/** One row of the table: the measure worst against its tolerance (error / tolerance largest), and whether every measure passed. */
export interface SelfTestRow {
  kernel: string;
  variant: string;
  shape: string;
  /** The worst measure's name (out, dx, dgamma, ...) and its error, tolerance. */
  worstOf: string;
  worstError: number;
  tolerance: number;
  pass: boolean;
  seconds: number;
}

/** The adapter the self-test ran on, as the table's header prints it. */
export interface SelfTestAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  runtime: string;
  features: string[];
}

/** What a self-test run gives back: the adapter, one row per case, the variants not eligible here (and why). */
export interface SelfTestResults {
  adapter: SelfTestAdapter;
  rows: SelfTestRow[];
  skipped: string[];
  passed: number;
  failed: number;
  seconds: number;
}

export interface SelfTestOptions {
  progress?: ProgressSink;
  /** Multiplies every tolerance (default 1). A test hook: 0 makes every inexact case fail, so the failure path is exercised. */
  toleranceScale?: number;
}

/**
 * The adapter summary of a context, with the device's features sorted.
 *   selfTestAdapter(gpu).features; // ['subgroups', 'timestamp-query', ...]
 *   selfTestAdapter(gpu).runtime;  // 'node' or 'browser'
 */
export function selfTestAdapter(gpu: GpuContext): SelfTestAdapter {
  const { vendor, architecture, device, description, runtime } = gpu.adapter;
  return { vendor, architecture, device, description, runtime, features: [...gpu.device.features].map(String).sort() };
}

/**
 * Every case this adapter could run (matmul variants eligible here and the GPU classes' plans, the normalizations, softmax
 * loss, the update rules, the gathers), and the variants left out with the reason.
 *   const { cases, skipped } = await makeSelfTestCases(gpu);
 *   for (const c of cases) makeSelfTestRow(c, await c.run(gpu), 1, 0);
 */
export async function makeSelfTestCases(gpu: GpuContext): Promise<{ cases: SelfTestCase[]; skipped: string[] }> {
  const mm = await makeMatmulCases(gpu);
  const norms = makeNormCases(gpu);
  return { cases: [...mm.cases, ...norms.cases, ...makeLossOptimGatherCases()], skipped: [...mm.skipped, ...norms.skipped] };
}

/**
 * A case's row from its measures: every tolerance times `scale`, the measure worst against its tolerance, pass if all pass.
 *   makeSelfTestRow(c, [{ what: 'dx', error: 2e-5, tolerance: 1e-4 }], 1, 0.1).pass;   // true
 *   makeSelfTestRow(c, [{ what: 'dx', error: 2e-5, tolerance: 1e-4 }], 0.1, 0.1).pass; // false
 */
export function makeSelfTestRow(
  c: Pick<SelfTestCase, 'kernel' | 'variant' | 'shape'>,
  measures: SelfTestMeasure[],
  scale: number,
  seconds: number,
): SelfTestRow {
  if (!measures.length) measures = [{ what: 'no measure', error: Infinity, tolerance: 0 }];
  const scaled = measures.map((m) => ({ ...m, tolerance: m.tolerance * scale }));
  const ratio = (m: SelfTestMeasure) => (m.error === 0 ? 0 : m.error / m.tolerance);
  const worst = scaled.reduce((w, m) => (!(ratio(m) <= ratio(w)) ? m : w));
  const { kernel, variant, shape } = c;
  const pass = scaled.every((m) => m.error <= m.tolerance);
  return { kernel, variant, shape, worstOf: worst.what, worstError: worst.error, tolerance: worst.tolerance, pass, seconds };
}

/**
 * Run every case on `gpu` against the float64 reference and return the table; a case that throws is a failed row.
 *   const r = await runSelfTest(gpu);
 *   r.failed; // 0 on a healthy GPU
 */
export async function runSelfTest(gpu: GpuContext, o: SelfTestOptions = {}): Promise<SelfTestResults> {
  const scale = o.toleranceScale ?? 1;
  if (!(scale >= 0)) throw new Error(`selftest: toleranceScale must be a number >= 0, got ${o.toleranceScale}`);
  const t0 = performance.now();
  const { cases, skipped } = await makeSelfTestCases(gpu);
  const rows: SelfTestRow[] = [];
  for (const [i, c] of cases.entries()) {
    o.progress?.setProgress(i, cases.length, 'cases');
    o.progress?.setDetail(`${c.kernel} ${c.variant} ${c.shape}`);
    const t = performance.now();
    let measures: SelfTestMeasure[];
    try {
      measures = await c.run(gpu);
    } catch (e) {
      measures = [{ what: `error: ${(e as Error).message}`, error: Infinity, tolerance: 0 }];
    }
    rows.push(makeSelfTestRow(c, measures, scale, (performance.now() - t) / 1000));
  }
  o.progress?.setProgress(cases.length, cases.length, 'cases');
  const failed = rows.filter((r) => !r.pass).length;
  const seconds = (performance.now() - t0) / 1000;
  return { adapter: selfTestAdapter(gpu), rows, skipped, passed: rows.length - failed, failed, seconds };
}

/**
 * The table as text: the adapter line, one line per case (kernel, variant, shape, worst error, tolerance, pass/FAIL), a summary.
 *   console.log(formatSelfTest(await runSelfTest(gpu)));
 *   // adapter: ... then 'matmul  block8  37x53x131 +b  1.93e-7 (C (2 passes))  1e-4  pass', ...
 */
export function formatSelfTest(r: SelfTestResults): string {
  const a = r.adapter;
  const head = ['kernel', 'variant', 'shape', 'worst error', 'tolerance', 'result'];
  const body = r.rows.map((x) => [
    x.kernel,
    x.variant,
    x.shape,
    `${x.worstError.toExponential(2)} (${x.worstOf})`,
    x.tolerance.toExponential(0),
    x.pass ? 'pass' : 'FAIL',
  ]);
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, j) => c.padEnd(widths[j]!))
      .join('  ')
      .trimEnd();
  return [
    `adapter: ${a.vendor || '?'} / ${a.architecture || '?'} / ${a.description || a.device || '?'} (${a.runtime})`,
    `features: ${a.features.join(', ') || 'none'}`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    ...r.skipped.map((s) => `not run here: ${s}`),
    `${r.passed} of ${r.rows.length} cases pass, ${r.failed} fail (${r.seconds.toFixed(1)} s)`,
  ].join('\n');
}

/**
 * The CSV rows of a self-test (one per case, the adapter named on each).
 *   selfTestCsvRows(results)[0].kernel; // 'matmul'
 *   toCsv(selfTestCsvRows(results));
 */
export function selfTestCsvRows(r: SelfTestResults): Record<string, unknown>[] {
  return r.rows.map((x) => ({ ...x, adapter: `${r.adapter.vendor} ${r.adapter.architecture} ${r.adapter.description}` }));
}
