// Experiment 2 (the seed's "batch normalization and initialization"): both networks at each weight scale, charts vs scale.
import { colors, createChart, type Chart, type Marker } from '../charts.ts';
import type { DemoContext, Panel } from '../context.ts';
import { fmt, h } from '../dom.ts';
import { runSweep, sweepCsvRows, type ScaleResult, type SweepResult } from '../experiments/sweep.ts';
import { createTrainingControls, type ModelLabel, type TrainRecord } from '../train.ts';
import { createDownloads } from './downloads.ts';

export { logspace } from '../experiments/sweep.ts';

const series = [
  { label: 'baseline', color: colors.baseline, points: true },
  { label: 'batchnorm', color: colors.batchnorm, points: true },
];

/**
 * The weight-scale sweep: for each of logspace(from, to, num) scales, the batchnorm then the baseline network;
 * a table row and chart points appear as each run finishes, diverged runs are marked and the sweep goes on.
 *   const panel = createSweepPanel(el, ctx);
 *   await panel.control.run();
 */
export function createSweepPanel(root: HTMLElement, ctx: DemoContext): Panel {
  const { gate, control, startRun } = createTrainingControls(root, ctx, 'sweep', 'sweep', () => run());
  let results: ScaleResult[] = [];
  let lastRun: SweepResult | null = null;

  const summary = h('p', { 'data-testid': 'sweep-summary', class: 'summary' }, 'not run yet');
  const timing = h('p', { 'data-testid': 'sweep-timing', class: 'summary' }, '');
  const table = h('table', { class: 'results', 'data-testid': 'sweep-results' });
  table.innerHTML =
    '<thead><tr><th scope="col">#</th><th scope="col">weight scale</th>' +
    '<th scope="col">best val acc<br>baseline / batchnorm</th><th scope="col">best train acc<br>baseline / batchnorm</th>' +
    '<th scope="col">final loss<br>baseline / batchnorm</th><th scope="col">status<br>baseline / batchnorm</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  const grid = h('div', { class: 'charts' });
  root.append(summary, timing, grid, h('details', { class: 'table-wrap' }, h('summary', {}, 'Table of runs'), table));
  const valChart = createChart(grid, {
    id: 'sweep-val-acc',
    title: 'Best val accuracy vs weight initialization scale',
    xLabel: 'Weight initialization scale',
    yLabel: 'Best val accuracy',
    logX: true,
    series,
  });
  const trainChart = createChart(grid, {
    id: 'sweep-train-acc',
    title: 'Best train accuracy vs weight initialization scale',
    xLabel: 'Weight initialization scale',
    yLabel: 'Best training accuracy',
    logX: true,
    series,
  });
  const lossChart = createChart(grid, {
    id: 'sweep-final-loss',
    title: 'Final training loss vs weight initialization scale',
    xLabel: 'Weight initialization scale',
    yLabel: 'Final training loss',
    logX: true,
    logY: true,
    series,
  });
  const chartList: Chart[] = [valChart, trainChart, lossChart];

  const both = (r: ScaleResult, f: (t: TrainRecord) => string) =>
    `${r.runs.baseline ? f(r.runs.baseline) : '…'} / ${r.runs.batchnorm ? f(r.runs.batchnorm) : '…'}`;
  const statusOf = (t: TrainRecord) => (t.status === 'diverged' ? `diverged@${t.divergedAt}` : t.status);

  const redraw = () => {
    const done = results.filter((r) => r.runs.baseline || r.runs.batchnorm);
    const xs = done.map((r) => r.weightScale);
    const pick = (f: (t: TrainRecord) => number) =>
      (['baseline', 'batchnorm'] as ModelLabel[]).map((l) => done.map((r) => (r.runs[l] ? f(r.runs[l]!) : null)));
    const markers = (f: (t: TrainRecord) => number): Marker[] =>
      done.flatMap((r) =>
        (['baseline', 'batchnorm'] as ModelLabel[]).flatMap((l, si) => {
          const t = r.runs[l];
          return t && t.status === 'diverged'
            ? [{ series: si, x: r.weightScale, y: Number.isFinite(f(t)) ? f(t) : null, label: `${l} diverged` }]
            : [];
        }),
      );
    valChart.setData(
      xs,
      pick((t) => t.bestValAcc),
      markers((t) => t.bestValAcc),
    );
    trainChart.setData(
      xs,
      pick((t) => t.bestTrainAcc),
      markers((t) => t.bestTrainAcc),
    );
    lossChart.setData(
      xs,
      pick((t) => t.finalLoss),
      markers((t) => t.finalLoss),
    );
    tbody.replaceChildren(
      ...results.map((r, i) => {
        const tr = h(
          'tr',
          { 'data-testid': `sweep-row-${i}` },
          h('td', {}, String(i + 1)),
          h('td', {}, r.weightScale.toExponential(2)),
          h(
            'td',
            {},
            both(r, (t) => fmt(t.bestValAcc, 3)),
          ),
          h(
            'td',
            {},
            both(r, (t) => fmt(t.bestTrainAcc, 3)),
          ),
          h(
            'td',
            {},
            both(r, (t) => fmt(t.finalLoss, 4)),
          ),
          h('td', {}, both(r, statusOf)),
        );
        if (Object.values(r.runs).some((t) => t.status === 'diverged')) tr.classList.add('diverged');
        return tr;
      }),
    );
    const finished = results.filter((r) => r.runs.baseline && r.runs.batchnorm).length;
    const diverged = results.flatMap((r) => Object.values(r.runs)).filter((t) => t.status === 'diverged').length;
    summary.textContent = `${finished} of ${results.length} scales done (both models), ${diverged} diverged runs`;
    document.dispatchEvent(new CustomEvent('demo:sweep', { detail: results }));
  };

  const showTiming = (r: SweepResult) => {
    const how =
      r.training === 'batched'
        ? 'batched: one population per network'
        : `sequential${r.settings.training === 'batched' ? ' (the CPU reference trains one net at a time)' : ''}`;
    const t = r.secondsPerNetwork ?? {};
    timing.textContent = `${how}; batchnorm ${fmt(t.batchnorm ?? NaN, 3)} s, baseline ${fmt(t.baseline ?? NaN, 3)} s, total ${fmt(r.seconds, 3)} s`;
  };

  async function run(): Promise<void> {
    await startRun(async (s, data, env) => {
      timing.textContent = '';
      lastRun = await runSweep(s, data, env, {
        progress: control,
        gate,
        onUpdate: (r) => {
          results = r;
          redraw();
        },
      });
      showTiming(lastRun);
    });
  }

  const panel: Panel = {
    name: 'sweep',
    control,
    chartIds: chartList.map((c) => c.spec.id),
    results: () => lastRun,
    csvRows: () => sweepCsvRows(results),
    show(result) {
      lastRun = result as unknown as SweepResult;
      results = lastRun.runs;
      redraw();
      showTiming(lastRun);
    },
  };
  createDownloads(root, panel, 'sweep');
  return panel;
}
