// `npm run experiment -- <command> --runtime node`: the experiments' own code (demo/experiments/) in Node on Dawn, no browser.
// Bundled by scripts/bundle-node.mjs (Node 20 strips no types); scripts/experiment.mjs parses the options and writes the files.
import {
  experimentSplits,
  makeSolverData,
  createGate,
  rateText,
  type ExperimentEnv,
  type ProgressSink,
} from '../../demo/experiments/common.ts';
import { createPassGate } from '../../demo/experiments/pass-gate.ts';
import { batchnormCsvRows, runBatchnormExperiment } from '../../demo/experiments/batchnorm.ts';
import { batchSizeCsvRows, runBatchSize } from '../../demo/experiments/batchsize.ts';
import { forwardCsvRows, runForwardCheck } from '../../demo/experiments/forward.ts';
import { runSpeedup, speedupCsvRows } from '../../demo/experiments/speedup.ts';
import { runSweep, sweepCsvRows } from '../../demo/experiments/sweep.ts';
import { formatSelfTest, runSelfTest, selfTestCsvRows, type SelfTestResults } from '../../demo/experiments/selftest.ts';
import type { PanelName, PanelSettings } from '../../demo/url-state.ts';
import {
  extractCIFAR10Archive,
  locateCIFAR10,
  makeCIFAR10Uint8,
  readCIFAR10Dir,
  requestGpu,
  type CIFAR10Uint8,
  type GpuContext,
  type ModelKind,
} from '../../src/node.ts';

// @ts-expect-error: plain JavaScript shared with scripts/experiment.mjs (no declarations)
import { cliOptionNamer, runStatus } from './checks.mjs';
import * as sizeLimits from '../../demo/size-limits.ts';

import * as urlState from '../../demo/url-state.ts';
export { urlState, sizeLimits };
export { toCsv, toJson } from '../../demo/export.ts';
export { formatSelfTest, selfTestCsvRows };

/** The data module's lookup, for scripts/experiment/find-data.mjs. */
export const locate = { locateCIFAR10, extractCIFAR10Archive };

/** The terminal bar of scripts/experiment/progress.mjs. */
export interface TerminalBar {
  update(s: { value: number; max: number; rate: string; detail: string }): void;
  done(message?: string): void;
}

export interface NodeRunArgs {
  command: string;
  panel: PanelName;
  settings: PanelSettings;
  /** The option texts as typed (`{ hidden: '100000' }`), for messages that name the option. */
  optionTexts?: Record<string, string>;
  model: ModelKind;
  /** The CIFAR-10 folder (found by find-data.mjs); null for the forward check and the speedup, which make their inputs. */
  dataDir: string | null;
  bar: TerminalBar;
  say(line: string): void;
}

/** What a Node run gives back: the panel's results record, its CSV rows, the adapter and the dataset summary. */
export interface NodeRunResult {
  status: string;
  results: object | null;
  rows: Record<string, unknown>[];
  adapter: Record<string, unknown> | null;
  dataset: Record<string, unknown> | null;
}

/** The page's splits of the files in `dir` (all of them read, as the page loads them): same images, same mean image. */
function loadSplits(dir: string): CIFAR10Uint8 {
  const batches = readCIFAR10Dir(dir);
  const held = batches.train.reduce((s, b) => s + b.count, 0);
  return makeCIFAR10Uint8(batches, experimentSplits(held, batches.test.count));
}

/** A ProgressSink drawing the terminal bar; the rate counts from the first progress, as the page's run control does from Start. */
function terminalProgress(bar: TerminalBar): ProgressSink {
  const t0 = performance.now();
  const state = { value: 0, max: 1, rate: '', detail: '' };
  return {
    setProgress(done, total, unit = 'steps') {
      Object.assign(state, { value: done, max: total, rate: rateText(done, total, unit, (performance.now() - t0) / 1000) });
      bar.update(state);
    },
    setDetail(text) {
      state.detail = text;
      bar.update(state);
    },
  };
}

/**
 * Run one experiment of the page in this process: the same settings, data splits, training code and results record.
 *   const r = await runInNode({ command: 'batchnorm', panel: 'batchnorm', settings, model: 'gpu', dataDir, bar, say });
 *   r.results.models.batchnorm.lossHistory;
 */
export async function runInNode(a: NodeRunArgs): Promise<NodeRunResult> {
  const t0 = performance.now();
  let gpu: GpuContext | null = null;
  let gpuError: string | null = null;
  try {
    // the budget the planned sizes are checked against also holds the live buffers back (a refused buffer is named)
    gpu = await requestGpu({ memoryBudget: sizeLimits.MEMORY_BUDGET_BYTES });
  } catch (e) {
    gpuError = (e as Error).message;
    if (a.model === 'gpu' || a.panel === 'forward' || a.panel === 'speedup') throw e;
  }
  try {
    if (gpu)
      a.say(
        `adapter: ${gpu.adapter.vendor} / ${gpu.adapter.architecture} / ${gpu.adapter.description || gpu.adapter.device} (Node ${process.version}, ${gpu.adapter.runtime})`,
      );
    // A test hook (e2e/cli/bad-input.spec.ts): one invalid buffer that no error scope catches, as Dawn's own errors arrive.
    if (gpu && process.env.WB_TEST_UNCAPTURED_GPU_ERROR === '1')
      gpu.device.createBuffer({ label: 'test: MAP_READ | MAP_WRITE', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE });
    // every tensor the settings make, against this device's limits, then the run's total against the memory budget
    // (for the CPU reference too), before any is built
    const option = cliOptionNamer(urlState.panelFields[a.panel], urlState.formatField, a.settings, a.optionTexts ?? {});
    sizeLimits.checkPlannedSizes(a.panel, a.settings, a.model === 'gpu' ? (gpu?.device.limits ?? null) : null, option);
    const env: ExperimentEnv = { kind: a.model, gpu, gpuError };
    const u8 = a.dataDir ? loadSplits(a.dataDir) : null;
    const dataset = u8
      ? {
          source: a.dataDir,
          cacheHit: false,
          train: u8.train.count,
          val: u8.val.count,
          test: u8.test.count,
          meanImage: Array.from(u8.meanImage),
        }
      : null;
    if (u8) a.say(`CIFAR-10 ready: ${u8.train.count} training, ${u8.val.count} validation, ${u8.test.count} test images`);
    const s = a.settings;
    const progress = terminalProgress(a.bar);
    const data = () => {
      if (!u8) throw new Error(`${a.command} trains: it needs the CIFAR-10 folder`);
      return makeSolverData(u8, s.numTrain as number, s.numVal as number);
    };
    const gate = createGate();
    const stopOnSignal = () => {
      a.say('stopping after the current step (Ctrl-C again to quit)');
      gate.stopped = true;
      gate.current?.abort();
      process.off('SIGINT', stopOnSignal);
    };
    process.on('SIGINT', stopOnSignal);
    let results: object | null = null;
    let rows: Record<string, unknown>[] = [];
    try {
      if (a.panel === 'batchnorm') {
        const r = await runBatchnormExperiment(s, data(), env, { progress, gate, onRecord: (_r, m) => m.destroy() });
        [results, rows] = [r, batchnormCsvRows(Object.values(r.models))];
      } else if (a.panel === 'sweep') {
        const r = await runSweep(s, data(), env, { progress, gate });
        [results, rows] = [r, sweepCsvRows(r.runs)];
      } else if (a.panel === 'batchsize') {
        const r = await runBatchSize(s, data(), env, { progress, gate, onRecord: (_i, _r, m) => m.destroy() });
        [results, rows] = [r, batchSizeCsvRows(r.runs)];
      } else if (a.panel === 'forward') {
        const r = await runForwardCheck(s, env, { progress, gate: createPassGate() });
        [results, rows] = [r, r ? forwardCsvRows(r.cases) : []];
      } else {
        const r = await runSpeedup(s, env, { progress, gate: createPassGate() });
        [results, rows] = [r, r ? speedupCsvRows(r.rows, r.copy) : []];
      }
    } finally {
      process.off('SIGINT', stopOnSignal);
    }
    const seconds = (performance.now() - t0) / 1000;
    // GPU errors no scope caught (Dawn's validation messages): said on stderr, and the run counts as failed
    const gpuErrors = [...new Set([gpu, env.gpu])].flatMap((g) => g?.errors ?? []);
    for (const e of gpuErrors) a.say(`GPU ${e.kind} error${e.kernel ? ` in ${e.kernel}` : ''}: ${e.message}`);
    const status: string = runStatus(gpuErrors, gate.stopped, seconds);
    const adapter = gpu ? { ...gpu.adapter, timestampQuery: gpu.hasTimestampQuery } : null;
    return { status, results, rows, adapter, dataset };
  } finally {
    gpu?.device.destroy(); // lets the process exit
  }
}

/**
 * The GPU self-test (demo/experiments/selftest.ts) on Dawn: every kernel variant the plans could pick here against float64.
 *   const r = await runSelfTestInNode({ bar, say }); // r.results.failed === 0 on a healthy GPU
 */
export async function runSelfTestInNode(a: {
  bar: TerminalBar;
  toleranceScale?: number;
}): Promise<{ results: SelfTestResults; table: string; adapter: Record<string, unknown> }> {
  const gpu = await requestGpu();
  try {
    const results = await runSelfTest(gpu, { progress: terminalProgress(a.bar), toleranceScale: a.toleranceScale });
    return { results, table: formatSelfTest(results), adapter: { ...gpu.adapter, timestampQuery: gpu.hasTimestampQuery } };
  } finally {
    gpu.device.destroy(); // lets the process exit
  }
}
