// Experiment 1 (the seed's "very deep net with batchnorm"): batchnorm vs baseline, live loss and accuracy charts.
import { colors, createChart, type Chart } from '../charts.ts';
import type { DemoContext, Panel } from '../context.ts';
import { fmt, h } from '../dom.ts';
import { batchnormCsvRows, batchnormLabels as labels, runBatchnormExperiment, type BatchnormResult } from '../experiments/batchnorm.ts';
import type { DemoModel } from '../models.ts';
import { createTrainingControls, type ModelLabel, type TrainRecord } from '../train.ts';
import { createDownloads } from './downloads.ts';

const series = [
  { label: 'baseline', color: colors.baseline },
  { label: 'batchnorm', color: colors.batchnorm },
];

/** A live view of one model's histories while it trains (the finished record replaces it). */
interface Live {
  loss: number[];
  trainAcc: number[];
  valAcc: number[];
}

/**
 * The batchnorm-vs-baseline panel: the seed's defaults, both networks trained in turn (batchnorm first, as the seed).
 *   const panel = createExperiment1Panel(document.querySelector('#batchnorm .body')!, ctx);
 *   await panel.control.run();
 */
export function createExperiment1Panel(root: HTMLElement, ctx: DemoContext): Panel {
  const { gate, control, startRun } = createTrainingControls(root, ctx, 'batchnorm', 'exp1', () => run());
  const live: Record<ModelLabel, Live> = {
    batchnorm: { loss: [], trainAcc: [], valAcc: [] },
    baseline: { loss: [], trainAcc: [], valAcc: [] },
  };
  let records: TrainRecord[] = [];
  let models: DemoModel[] = [];
  let lastRun: BatchnormResult | null = null;

  const table = h('table', { class: 'results', 'data-testid': 'exp1-results' });
  table.innerHTML =
    '<thead><tr><th scope="col">model</th><th scope="col">status</th><th scope="col">best val acc</th>' +
    '<th scope="col">best train acc</th><th scope="col">final loss (mean of last 100)</th><th scope="col">steps</th>' +
    '<th scope="col">seconds</th><th scope="col">steps/s</th></tr></thead>';
  const tbody = h('tbody');
  const cells: Record<string, HTMLElement> = {};
  for (const l of labels) {
    const tr = h('tr', {}, h('th', { scope: 'row' }, l));
    for (const c of ['status', 'best-val', 'best-train', 'final-loss', 'steps', 'seconds', 'rate']) {
      cells[`${l}-${c}`] = h('td', { 'data-testid': `exp1-${l}-${c}` }, '–');
      tr.append(cells[`${l}-${c}`]!);
    }
    tbody.append(tr);
  }
  table.append(tbody);
  root.append(table);

  const grid = h('div', { class: 'charts' });
  root.append(grid);
  const lossChart = createChart(grid, { id: 'exp1-loss', title: 'Training loss', xLabel: 'Iteration', yLabel: 'loss', series });
  const trainChart = createChart(grid, {
    id: 'exp1-train-acc',
    title: 'Training accuracy',
    xLabel: 'Epoch',
    yLabel: 'accuracy',
    series: series.map((s) => ({ ...s, points: true })),
  });
  const valChart = createChart(grid, {
    id: 'exp1-val-acc',
    title: 'Validation accuracy',
    xLabel: 'Epoch',
    yLabel: 'accuracy',
    series: series.map((s) => ({ ...s, points: true })),
  });
  const chartList: Chart[] = [lossChart, trainChart, valChart];

  let frame = 0;
  const redraw = () => {
    frame = 0;
    const b = live.baseline;
    const n = live.batchnorm;
    const steps = Math.max(b.loss.length, n.loss.length);
    lossChart.setData(
      Array.from({ length: steps }, (_, i) => i),
      [pad(b.loss, steps), pad(n.loss, steps)],
    );
    const checks = Math.max(b.trainAcc.length, n.trainAcc.length);
    const epochs = Array.from({ length: checks }, (_, i) => i);
    trainChart.setData(epochs, [pad(b.trainAcc, checks), pad(n.trainAcc, checks)]);
    valChart.setData(epochs, [pad(b.valAcc, checks), pad(n.valAcc, checks)]);
  };
  const scheduleRedraw = () => {
    if (!frame) frame = requestAnimationFrame(redraw);
  };

  const showRecord = (r: TrainRecord) => {
    const c = (k: string) => cells[`${r.label}-${k}`]!;
    c('status').textContent = r.status === 'diverged' ? `diverged at step ${r.divergedAt}` : r.status;
    c('best-val').textContent = fmt(r.bestValAcc);
    c('best-train').textContent = fmt(r.bestTrainAcc);
    c('final-loss').textContent = fmt(r.finalLoss);
    c('steps').textContent = String(r.iterations);
    c('seconds').textContent = fmt(r.seconds, 3);
    c('rate').textContent = fmt(r.stepsPerSecond, 3);
  };

  const clear = () => {
    for (const m of models) m.destroy();
    models = [];
    records = [];
    for (const l of labels) {
      live[l] = { loss: [], trainAcc: [], valAcc: [] };
      for (const k of ['status', 'best-val', 'best-train', 'final-loss', 'steps', 'seconds', 'rate']) cells[`${l}-${k}`]!.textContent = '–';
    }
  };
  const addRecord = (record: TrainRecord) => {
    records.push(record);
    live[record.label as ModelLabel] = { loss: record.lossHistory, trainAcc: record.trainAccHistory, valAcc: record.valAccHistory };
    showRecord(record);
  };

  async function run(): Promise<void> {
    await startRun(async (s, data, env) => {
      clear();
      redraw();
      lastRun = await runBatchnormExperiment(s, data, env, {
        progress: control,
        gate,
        onStart: (label) => {
          cells[`${label}-status`]!.textContent = 'building…';
        },
        onProgress: (label, p, solver) => {
          cells[`${label}-status`]!.textContent = `training: epoch ${p.epoch} / ${s.epochs}`;
          live[label] = { loss: solver.lossHistory, trainAcc: solver.trainAccHistory, valAcc: solver.valAccHistory };
          scheduleRedraw();
        },
        onRecord: (record, model) => {
          models.push(model);
          addRecord(record);
          scheduleRedraw();
        },
      });
      redraw();
    });
  }

  const panel: Panel = {
    name: 'batchnorm',
    control,
    chartIds: chartList.map((c) => c.spec.id),
    results: () => lastRun,
    // long format: one row per plotted point (model, series, x, value)
    csvRows: () => batchnormCsvRows(records),
    show(result) {
      clear();
      lastRun = result as unknown as BatchnormResult;
      for (const r of Object.values(lastRun.models)) addRecord(r);
      redraw();
    },
    safetensors: async () =>
      Promise.all(
        models.map(async (m, i) => ({
          name: `batchnorm-experiment-${records[i]!.label}.safetensors`,
          bytes: await m.saveSafetensors(),
        })),
      ),
  };
  createDownloads(root, panel, 'exp1');
  return panel;
}

function pad(values: number[], n: number): (number | null)[] {
  const out: (number | null)[] = values.slice(0, n);
  while (out.length < n) out.push(null);
  return out;
}
