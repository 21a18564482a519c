// The batch-size experiments (cs231n's run_batchsize_experiments): a baseline and batchnorm / layer norm nets at several batch sizes, live accuracy charts.
import { colors, createChart, type Chart } from '../charts.ts';
import type { DemoContext, Panel } from '../context.ts';
import { fmt, h } from '../dom.ts';
import { batchRuns, batchSizeCsvRows, runBatchSize, type BatchRun, type BatchSizeResult } from '../experiments/batchsize.ts';
import type { DemoModel } from '../models.ts';
import type { PanelSettings } from '../url-state.ts';
import { createTrainingControls, type TrainRecord } from '../train.ts';
import { createDownloads } from './downloads.ts';

export { batchRuns, type BatchRun } from '../experiments/batchsize.ts';

/** The two normalized experiments and their chart id prefixes. */
const experiments = [
  { normalization: 'batchnorm' as const, id: 'bsize-bn', title: 'batchnorm' },
  { normalization: 'layernorm' as const, id: 'bsize-ln', title: 'layer norm' },
];

const palette = [colors.batchnorm, colors.extra, colors.graph, colors.alternative, '#8c564b', '#e377c2'];

/**
 * The batch-size panel: trains `batchRuns(settings)` one after another; per experiment a training- and a
 * validation-accuracy chart with every run on one axis, updated live; a table row per run.
 *   const panel = createBatchSizePanel(document.querySelector('#batchsize .body')!, ctx);
 *   await panel.control.run();
 */
export function createBatchSizePanel(root: HTMLElement, ctx: DemoContext): Panel {
  const settings = ctx.state.panels.batchsize;
  const { gate, control, startRun } = createTrainingControls(root, ctx, 'batchsize', 'bsize', () => run());
  let records: TrainRecord[] = [];
  let models: DemoModel[] = [];
  let lastRun: BatchSizeResult | null = null;

  const table = h('table', { class: 'results', 'data-testid': 'bsize-results' });
  table.innerHTML =
    '<thead><tr><th scope="col">run</th><th scope="col">status</th><th scope="col">best val acc</th>' +
    '<th scope="col">best train acc</th><th scope="col">final loss (mean of last 100)</th><th scope="col">steps</th>' +
    '<th scope="col">seconds</th></tr></thead>';
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
    cells = runs.map((_, i) =>
      ['status', 'best-val', 'best-train', 'final-loss', 'steps', 'seconds'].map((c) => h('td', { 'data-testid': `bsize-${i}-${c}` }, '–')),
    );
    tbody.replaceChildren(
      ...runs.map((r, i) => h('tr', { 'data-testid': `bsize-row-${i}` }, h('th', { scope: 'row' }, r.label), ...cells[i]!)),
    );
    for (const c of chartList) c.chart.destroy();
    chartList = [];
    grid.replaceChildren();
    for (const e of experiments) {
      const members = runs.map((r, i) => (r.normalization === null || r.normalization === e.normalization ? i : -1)).filter((i) => i >= 0);
      if (members.length < 2) continue;
      const row = h('div', { class: 'charts' }); // one experiment per row: its training and validation charts side by side
      grid.append(row);
      const series = members.map((i, k) => ({
        label: runs[i]!.label,
        color: runs[i]!.normalization === null ? colors.baseline : palette[(k - 1) % palette.length]!,
        points: true,
      }));
      for (const [field, what] of [
        ['trainAccHistory', 'Training'],
        ['valAccHistory', 'Validation'],
      ] as const) {
        const id = `${e.id}-${field === 'trainAccHistory' ? 'train' : 'val'}-acc`;
        chartList.push({
          chart: createChart(row, {
            id,
            title: `${what} accuracy: ${e.title} and batch size`,
            xLabel: 'Epoch',
            yLabel: 'accuracy',
            series,
          }),
          runs: members,
          field,
        });
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
      chart.setData(
        Array.from({ length: n }, (_, k) => k),
        ys.map((y) => Array.from({ length: n }, (_, k) => y[k] ?? null)),
      );
    }
  };
  const scheduleRedraw = () => {
    if (!frame) frame = requestAnimationFrame(redraw);
  };

  const showRecord = (i: number, r: TrainRecord) => {
    const [status, bestVal, bestTrain, finalLoss, steps, seconds] = cells[i]!;
    status!.textContent = r.status === 'diverged' ? `diverged at step ${r.divergedAt}` : r.status;
    bestVal!.textContent = fmt(r.bestValAcc);
    bestTrain!.textContent = fmt(r.bestTrainAcc);
    finalLoss!.textContent = fmt(r.finalLoss);
    steps!.textContent = String(r.iterations);
    seconds!.textContent = fmt(r.seconds, 3);
  };

  const clear = (s: PanelSettings) => {
    for (const m of models) m.destroy();
    models = [];
    records = [];
    layout(s);
  };
  const addRecord = (i: number, record: TrainRecord) => {
    records.push(record);
    live[i] = record;
    showRecord(i, record);
  };
  const finish = (result: BatchSizeResult) => {
    lastRun = result;
    document.dispatchEvent(new CustomEvent('demo:batchsize', { detail: records }));
  };

  async function run(): Promise<void> {
    await startRun(async (s, data, env) => {
      clear(s);
      redraw();
      const result = await runBatchSize(s, data, env, {
        progress: control,
        gate,
        onStart: (i) => {
          cells[i]![0]!.textContent = 'building…';
        },
        onProgress: (i, p, solver) => {
          cells[i]![0]!.textContent = `training: epoch ${p.epoch} / ${s.epochs}`;
          live[i] = { trainAccHistory: solver.trainAccHistory, valAccHistory: solver.valAccHistory };
          scheduleRedraw();
        },
        onRecord: (i, record, model) => {
          models.push(model);
          addRecord(i, record);
          scheduleRedraw();
        },
      });
      redraw();
      finish(result);
    });
  }

  const panel: Panel = {
    name: 'batchsize',
    control,
    get chartIds() {
      return chartList.map((c) => c.chart.spec.id);
    },
    results: () => lastRun,
    csvRows: () => batchSizeCsvRows(records),
    show(result) {
      const r = result as unknown as BatchSizeResult;
      clear(r.settings);
      r.runs.forEach((record, i) => addRecord(i, record));
      redraw();
      finish(r);
    },
    safetensors: async () =>
      Promise.all(
        models.map(async (m, i) => ({
          name: `batchsize-${records[i]!.normalization ?? 'baseline'}-batch${records[i]!.batchSize}.safetensors`,
          bytes: await m.saveSafetensors(),
        })),
      ),
  };
  createDownloads(root, panel, 'bsize');
  return panel;
}
