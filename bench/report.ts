// The benchmark report: runs the selected sections into one JSON object, and prints it as readable tables.
import type { GpuContext } from '../src/index.ts';
import { selectSections } from './sections/index.ts';
import type { BenchOptions } from './sections/types.ts';
import type { AdapterDetail } from '../src/engine.ts';
import { formatSideBySide } from './report-peers.ts';
import { formatPopulationProfiles, type PopulationProfile } from './sections/population-profile.ts';

export interface BenchReport {
  adapter: { vendor: string; architecture: string; description: string; device: string; runtime: string; detail: AdapterDetail | null };
  /** 'large' when the GPU-sized shapes ran too. */
  sizes: 'default' | 'large';
  timer: 'timestamp-query' | 'wall-clock';
  reps: number;
  sections: string[];
  [section: string]: unknown;
}

/**
 * Run the sections named in `only` (all when empty) on `gpu` and collect their results.
 *   const report = await runBench(gpu, 'matmul', { reps: 10, detail: false, peers: {}, log: console.log });
 *   report.matmul; // [{ m, n, k, gflops, tfjsGflops, ... }]
 */
export async function runBench(gpu: GpuContext, only: string | null, opts: BenchOptions): Promise<BenchReport> {
  const chosen = selectSections(only);
  const { vendor, architecture, description, device, runtime, detail } = gpu.adapter;
  const report: BenchReport = {
    adapter: { vendor, architecture, description, device, runtime, detail: detail ?? null },
    sizes: opts.sizes ?? 'default',
    timer: gpu.hasTimestampQuery ? 'timestamp-query' : 'wall-clock',
    reps: opts.reps,
    sections: chosen.map((s) => s.name),
  };
  for (const s of chosen) {
    opts.log(`-- ${s.name}`);
    Object.assign(report, await s.run(gpu, opts));
  }
  return report;
}

const num = (v: unknown, digits = 2) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : v === null || v === undefined ? '-' : String(v);

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Readable tables of a report (the JSON stays the machine-readable form).
 *   const report = await runBench(gpu, 'matmul', opts);
 *   console.log(formatReport(report));
 */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(
    `adapter: ${r.adapter.vendor} / ${r.adapter.architecture} ${r.adapter.description} (${r.adapter.runtime}); timer: ${r.timer}; median (and best) of ${r.reps}`,
  );
  const mm = r.matmul as
    | {
        m: number;
        n: number;
        k: number;
        transA: boolean;
        transB: boolean;
        ms: number;
        gflops: number;
        bestGflops: number;
        tfjsMs: number | null;
        tfjsGflops: number | null;
        tfjsBestGflops: number | null;
        check: number;
        kernel: string;
        alternatives?: Record<string, number>;
      }[]
    | undefined;
  if (Array.isArray(mm)) {
    out.push('', `matmul (ours: ${r.matmulTimer}; TF.js: ${r.tfjsTimer ?? 'not run'})`);
    out.push(
      table(
        ['shape m x n x k', 'layout', 'ms', 'GFLOPS', 'best', 'TF.js ms', 'TF.js GFLOPS', 'best', 'vs TF.js', 'check'],
        mm.map((f) => [
          `${f.m} x ${f.n} x ${f.k}`,
          `${f.transA ? 'Aᵀ' : 'A'}·${f.transB ? 'Bᵀ' : 'B'}`,
          num(f.ms, 3),
          num(f.gflops),
          num(f.bestGflops),
          num(f.tfjsMs, 3),
          num(f.tfjsGflops),
          num(f.tfjsBestGflops),
          f.tfjsGflops ? `${(f.gflops / f.tfjsGflops).toFixed(2)}x` : '-',
          f.check.toExponential(1),
        ]),
      ),
    );
    for (const f of mm) out.push(`  ${f.m}x${f.n}x${f.k}: ${f.kernel}`);
    const alts = mm.filter((f) => f.alternatives);
    if (alts.length) {
      out.push('', 'matmul alternatives (GFLOPS)');
      for (const f of alts)
        out.push(
          `  ${f.m}x${f.n}x${f.k}: ` +
            Object.entries(f.alternatives!)
              .map(([k, v]) => `${k} ${v.toFixed(2)}`)
              .join(', '),
        );
    }
  }
  const bn = r.bnBackward;
  if (Array.isArray(bn)) {
    out.push('', 'batchnorm backward (graph vs alternative)');
    out.push(
      table(
        ['N x D', 'graph ms', 'alt ms', 'speedup', 'graph GB/s', 'alt GB/s', 'passes g/a'],
        (bn as Record<string, number>[]).map((f) => [
          `${f.n} x ${f.d}`,
          num(f.graphMs, 3),
          num(f.altMs, 3),
          `${num(f.speedup)}x`,
          num(f.graphGBps),
          num(f.altGBps),
          `${f.graphPasses}/${f.altPasses}`,
        ]),
      ),
    );
  } else if (bn !== undefined) {
    out.push('', `batchnorm backward: ${String(bn)}`);
  }
  const tr = r.training as
    | {
        net: string;
        batch: number;
        backwardVariant: string;
        useBatchnorm: boolean;
        msPerStep: number;
        dispatchesPerStep: number;
        apiCallsPerStep?: number;
        multiStep?: { stepsPerSubmit: number; msPerStep: number; apiCallsPerStep: number };
        tfjsMsPerStep: number | null;
        checkpointMs?: number;
        checkpointBytes?: number;
      }[]
    | undefined;
  if (Array.isArray(tr)) {
    out.push('', 'training step (Adam, wall clock per step over queued steps)');
    out.push(
      table(
        [
          'net',
          'batch',
          'bn backward',
          'ms/step',
          'K a submit: ms/step',
          'dispatches',
          'API calls/step (1 | K)',
          'checkpoint ms (MiB)',
          'TF.js ms/step',
          'vs TF.js',
        ],
        tr.map((f) => [
          f.net,
          String(f.batch),
          f.useBatchnorm ? f.backwardVariant : '-',
          num(f.msPerStep, 2),
          f.multiStep ? `${f.multiStep.stepsPerSubmit}: ${num(f.multiStep.msPerStep, 2)}` : '-',
          String(f.dispatchesPerStep),
          `${num(f.apiCallsPerStep, 1)} | ${num(f.multiStep?.apiCallsPerStep, 1)}`,
          f.checkpointMs === undefined ? '-' : `${num(f.checkpointMs, 2)} (${num((f.checkpointBytes ?? 0) / 2 ** 20, 2)})`,
          num(f.tfjsMsPerStep, 1),
          f.tfjsMsPerStep ? `${(f.tfjsMsPerStep / f.msPerStep).toFixed(1)}x faster` : '-',
        ]),
      ),
    );
  }
  const ex = r.experiments as { batchnormSeconds: number; sweepSeconds: number; sweep: { status: string }[] } | string | undefined;
  if (typeof ex === 'string') out.push('', `experiments: ${ex}`);
  else if (ex) {
    out.push(
      '',
      `experiments: batchnorm vs baseline ${num(ex.batchnormSeconds)} s; weight-scale sweep (${ex.sweep.length} trainings) ${num(ex.sweepSeconds)} s, ` +
        `${ex.sweep.filter((x) => x.status === 'diverged').length} diverged`,
    );
  }
  const sw = r.sweep as
    | {
        models: number;
        steps: number;
        sequentialMs: number;
        batchedMs: number;
        speedup: number;
        bytesPerModel: number;
        maxModels: number;
        maxLossDiff: number;
        maxFirstStepLossDiff: number;
        stepsOnly: { steps: number; sequentialMs: number; batchedMs: number; speedup: number };
        torchSequentialMs?: number | null;
        torchBatchedMs?: number | null;
      }
    | string
    | undefined;
  if (typeof sw === 'string') out.push('', `sweep: ${sw}`);
  else if (sw) {
    out.push(
      '',
      `sweep (${sw.models} models x ${sw.steps} steps): sequential ${num(sw.sequentialMs / 1000)} s, batched ${num(sw.batchedMs / 1000)} s, ` +
        `speedup ${sw.speedup.toFixed(2)}x (training steps alone, ${sw.stepsOnly.steps} a model: ${num(sw.stepsOnly.sequentialMs / 1000)} / ${num(sw.stepsOnly.batchedMs / 1000)} s, ${sw.stepsOnly.speedup.toFixed(2)}x); ${(sw.bytesPerModel / 2 ** 20).toFixed(2)} MiB on the GPU per model, at most ${sw.maxModels} models a group (one storage binding); ` +
        `largest relative loss difference batched vs sequential ${sw.maxLossDiff.toExponential(1)} (first step ${sw.maxFirstStepLossDiff.toExponential(1)})`,
    );
    if (sw.torchSequentialMs != null && sw.torchBatchedMs != null)
      out.push(
        `sweep, PyTorch on the same rows: sequential ${num(sw.torchSequentialMs / 1000)} s, batched (stacked weights) ${num(sw.torchBatchedMs / 1000)} s; ` +
          `ours batched is ${(sw.torchSequentialMs / sw.batchedMs).toFixed(2)}x its sequential, ${(sw.torchBatchedMs / sw.batchedMs).toFixed(2)}x its batched`,
      );
  }
  out.push(...formatSideBySide(r));
  if (Array.isArray(r.populationProfile)) out.push(formatPopulationProfiles(r.populationProfile as PopulationProfile[]));
  return out.join('\n');
}
