// The batch-size experiments (cs231n's run_batchsize_experiments): a baseline and batchnorm / layer norm nets at several batch sizes, live accuracy charts.
import type { Normalization } from '../../src/index.ts';
import { colors, createChart, type Chart } from '../charts.ts';
import { adapterRecord, type DemoContext, type Panel } from '../context.ts';
import { makeSolverData } from '../dataset.ts';
import { fmt, h } from '../dom.ts';
import type { DemoModel } from '../models.ts';
import { createRunControl } from '../run-control.ts';
import { createSettingsForm } from '../settings-form.ts';
import type { PanelSettings } from '../url-state.ts';
import { createGate, pauseGate, resumeGate, stopGate, trainOne, type TrainRecord } from '../train.ts';
import { createDownloads } from './downloads.ts';

/** One training of the experiment: which normalization, at which batch size. */
export interface BatchRun {
  label: string;
  normalization: Normalization;
  batchSize: number;
}

/** The two normalized experiments and their chart id prefixes. */
const experiments = [
  { normalization: 'batchnorm' as const, id: 'bsize-bn', title: 'batchnorm' },
  { normalization: 'layernorm' as const, id: 'bsize-ln', title: 'layer norm' },
];

const palette = [colors.batchnorm, colors.extra, colors.graph, colors.alternative, '#8c564b', '#e377c2'];

/**
 * The runs that settings ask for, in cs231n's order: the baseline (no normalization) first, then each normalized
 * net at each batch size; `normalization: 'both'` runs both experiments with one shared baseline.
 *   batchRuns({ normalization: 'batchnorm', batchSizes: [5, 10, 50], baselineBatch: 5 }); // baseline@5, batchnorm@5, @10, @50
 */
export function batchRuns(s: PanelSettings): BatchRun[] {
  const which = s.normalization === 'both' ? ['batchnorm', 'layernorm'] as const : [s.normalization as 'batchnorm' | 'layernorm'];
  const runs: BatchRun[] = [{ label: `baseline, batch ${s.baselineBatch}`, normalization: null, batchSize: s.baselineBatch as number }];
  for (const n of which) for (const b of s.batchSizes as number[]) runs.push({ label: `${n}, batch ${b}`, normalization: n, batchSize: b });
  return runs;
}

/** Steps of one run: the Solver's iterations per epoch times epochs. */
function stepsOf(s: PanelSettings, batch: number): number {
  return Math.max(Math.floor((s.numTrain as number) / batch), 1) * (s.epochs as number);
}

/**
 * The batch-size panel: trains `batchRuns(settings)` one after another; per experiment a training- and a
 * validation-accuracy chart with every run on one axis, updated live; a table row per run.
 *   const panel = createBatchSizePanel(document.querySelector('#batchsize .body')!, ctx);
 *   await panel.control.run();
 */
export function createBatchSizePanel(root: HTMLElement, ctx: DemoContext): Panel {
  const settings = ctx.state.panels.batchsize;
  const form = createSettingsForm(root, 'batchsize', settings, () => ctx.syncUrl());
  const gate = createGate();
  let records: TrainRecord[] = [];
  let models: DemoModel[] = [];
  let lastRun: Record<string, unknown> | null = null;
  const control = createRunControl(root, 'bsize', {
    start: () => run(),
    pause: () => pauseGate(gate),
    resume: () => resumeGate(gate),
    stop: () => stopGate(gate),
  });

  const table = h('table', { class: 'results', 'data-testid': 'bsize-results' });
  table.innerHTML = '<thead><tr><th scope="col">run</th><th scope="col">status</th><th scope="col">best val acc</th>'
    + '<th scope="col">best train acc</th><th scope="col">final loss (mean of last 100)</th><th scope="col">steps</th>'
    + '<th scope="col">seconds</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  const grid = h('div', { class: 'experiments' });
  root.append(table, grid);

  let runs: BatchRun[] = [];
  let cells: HTMLElement[][] = [];
  let chartList: { chart: Chart; runs: number[]; field: 'trainAccHistory' | 'valAccHistory' }[] = [];
  let live: (Pick<TrainRecord, 'trainAccHistory' | 'valAccHistory'> | null)[] = [];

  /** Table rows and charts for these settings' runs (charts are rebuilt: their series are the runs). */
  const layout = (s: PanelSettings) => {
    runs = batchRuns(s);
    live = runs.map(() => null);
    cells = runs.map((_, i) => ['status', 'best-val', 'best-train', 'final-loss', 'steps', 'seconds'].map((c) => h('td', { 'data-testid': `bsize-${i}-${c}` }, '–')));
    tbody.replaceChildren(...runs.map((r, i) => h('tr', { 'data-testid': `bsize-row-${i}` }, h('th', { scope: 'row' }, r.label), ...cells[i]!)));
    for (const c of chartList) c.chart.destroy();
    chartList = [];
    grid.replaceChildren();
    for (const e of experiments) {
      const members = runs.map((r, i) => (r.normalization === null || r.normalization === e.normalization ? i : -1)).filter((i) => i >= 0);
      if (members.length < 2) continue;
      const row = h('div', { class: 'charts' }); // one experiment per row: its training and validation charts side by side
      grid.append(row);
      const series = members.map((i, k) => ({ label: runs[i]!.label, color: runs[i]!.normalization === null ? colors.baseline : palette[(k - 1) % palette.length]!, points: true }));
      for (const [field, what] of [['trainAccHistory', 'Training'], ['valAccHistory', 'Validation']] as const) {
        const id = `${e.id}-${field === 'trainAccHistory' ? 'train' : 'val'}-acc`;
        chartList.push({ chart: createChart(row, { id, title: `${what} accuracy: ${e.title} and batch size`, xLabel: 'Epoch', yLabel: 'accuracy', series }), runs: members, field });
      }
    }
  };
  layout(settings);

  let frame = 0;
  const redraw = () => {
    frame = 0;
    for (const { chart, runs: members, field } of chartList) {
      const ys = members.map((i) => live[i]?.[field] ?? []);
      const n = Math.max(0, ...ys.map((y) => y.length));
      chart.setData(Array.from({ length: n }, (_, k) => k), ys.map((y) => Array.from({ length: n }, (_, k) => y[k] ?? null)));
    }
  };
  const scheduleRedraw = () => { if (!frame) frame = requestAnimationFrame(redraw); };

  const showRecord = (i: number, r: TrainRecord) => {
    const [status, bestVal, bestTrain, finalLoss, steps, seconds] = cells[i]!;
    status!.textContent = r.status === 'diverged' ? `diverged at step ${r.divergedAt}` : r.status;
    bestVal!.textContent = fmt(r.bestValAcc);
    bestTrain!.textContent = fmt(r.bestTrainAcc);
    finalLoss!.textContent = fmt(r.finalLoss);
    steps!.textContent = String(r.iterations);
    seconds!.textContent = fmt(r.seconds, 3);
  };

  async function run(): Promise<void> {
    const s = form.read();
    form.setDisabled(true);
    try {
      const kind = ctx.modelKind();
      control.setDetail('waiting for CIFAR-10 (see the CIFAR-10 box above)…');
      const data = makeSolverData(await ctx.dataset(), s.numTrain as number, s.numVal as number);
      for (const m of models) m.destroy();
      models = [];
      records = [];
      Object.assign(gate, createGate());
      layout(s);
      redraw();
      const total = runs.reduce((a, r) => a + stepsOf(s, r.batchSize), 0);
      let before = 0;
      const t0 = performance.now();
      for (const [i, r] of runs.entries()) {
        if (gate.stopped) break;
        cells[i]![0]!.textContent = 'building…';
        control.setDetail(`${r.label} (${kind === 'gpu' ? 'WebGPU' : 'CPU float64 reference'}), run ${i + 1} of ${runs.length}`);
        const { record, model } = await trainOne({
          kind, gpu: ctx.gpu, label: r.label, normalization: r.normalization, batchSize: r.batchSize,
          settings: s, weightScale: s.weightScale as number, data, gate,
          onProgress: (p, solver) => {
            cells[i]![0]!.textContent = `training: epoch ${p.epoch} / ${s.epochs}`;
            live[i] = { trainAccHistory: solver.trainAccHistory, valAccHistory: solver.valAccHistory };
            control.setProgress(before + p.iteration, total);
            scheduleRedraw();
          },
        });
        before += stepsOf(s, r.batchSize);
        models.push(model);
        records.push(record);
        live[i] = record;
        showRecord(i, record);
        scheduleRedraw();
      }
      redraw();
      const seconds = (performance.now() - t0) / 1000;
      control.setDetail(`${records.length} networks trained in ${seconds.toFixed(1)} s on ${kind === 'gpu' ? 'the GPU' : 'the CPU'}`);
      lastRun = { experiment: 'batchsize', settings: { ...s, model: kind }, adapter: adapterRecord(ctx), seconds, runs: records };
      document.dispatchEvent(new CustomEvent('demo:batchsize', { detail: records }));
    } finally {
      form.setDisabled(false);
    }
  }

  const panel: Panel = {
    name: 'batchsize',
    control,
    get chartIds() { return chartList.map((c) => c.chart.spec.id); },
    results: () => lastRun,
    csvRows: () => records.flatMap((r) => [
      ...r.trainAccHistory.map((value, x) => ({ run: r.label, normalization: r.normalization ?? 'none', batchSize: r.batchSize, series: 'trainAcc', x, value })),
      ...r.valAccHistory.map((value, x) => ({ run: r.label, normalization: r.normalization ?? 'none', batchSize: r.batchSize, series: 'valAcc', x, value })),
    ]),
    safetensors: async () => Promise.all(models.map(async (m, i) => ({
      name: `batchsize-${records[i]!.normalization ?? 'baseline'}-batch${records[i]!.batchSize}.safetensors`, bytes: await m.saveSafetensors(),
    }))),
  };
  createDownloads(root, panel, 'bsize');
  return panel;
}
