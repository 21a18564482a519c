// Experiment 2 (the seed's "batch normalization and initialization"): both networks at each weight scale, charts vs scale.
import { colors, createChart, type Chart, type Marker } from '../charts.ts';
import { adapterRecord, type DemoContext, type Panel } from '../context.ts';
import { makeSolverData } from '../dataset.ts';
import { fmt, h } from '../dom.ts';
import { createRunControl } from '../run-control.ts';
import { createSettingsForm } from '../settings-form.ts';
import { createGate, iterationsOf, pauseGate, resumeGate, stopGate, trainOne, trainPopulation, type ModelLabel, type TrainRecord } from '../train.ts';
import { createDownloads } from './downloads.ts';

/**
 * numpy's logspace(from, to, num): num points evenly spaced in log10 from 10^from to 10^to.
 *   logspace(-4, 0, 3); // [1e-4, 1e-2, 1]
 */
export function logspace(from: number, to: number, num: number): number[] {
  if (num === 1) return [10 ** from];
  return Array.from({ length: num }, (_, i) => 10 ** (from + (i * (to - from)) / (num - 1)));
}

const labels: ModelLabel[] = ['batchnorm', 'baseline'];
const series = [
  { label: 'baseline', color: colors.baseline, points: true },
  { label: 'batchnorm', color: colors.batchnorm, points: true },
];

/** One scale's pair of runs (records omit the long histories' copies in the table, not in the export). */
interface ScaleResult {
  weightScale: number;
  runs: Partial<Record<ModelLabel, TrainRecord>>;
}

/**
 * The weight-scale sweep: for each of logspace(from, to, num) scales, the batchnorm then the baseline network;
 * a table row and chart points appear as each run finishes, diverged runs are marked and the sweep goes on.
 *   const panel = createSweepPanel(el, ctx);
 *   await panel.control.run();
 */
export function createSweepPanel(root: HTMLElement, ctx: DemoContext): Panel {
  const settings = ctx.state.panels.sweep;
  const form = createSettingsForm(root, 'sweep', settings, () => ctx.syncUrl());
  const gate = createGate();
  let results: ScaleResult[] = [];
  let lastRun: Record<string, unknown> | null = null;
  const control = createRunControl(root, 'sweep', {
    start: () => run(),
    pause: () => pauseGate(gate),
    resume: () => resumeGate(gate),
    stop: () => stopGate(gate),
  });

  const summary = h('p', { 'data-testid': 'sweep-summary', class: 'summary' }, 'not run yet');
  const timing = h('p', { 'data-testid': 'sweep-timing', class: 'summary' }, '');
  const table = h('table', { class: 'results', 'data-testid': 'sweep-results' });
  table.innerHTML = '<thead><tr><th scope="col">#</th><th scope="col">weight scale</th>'
    + '<th scope="col">best val acc<br>baseline / batchnorm</th><th scope="col">best train acc<br>baseline / batchnorm</th>'
    + '<th scope="col">final loss<br>baseline / batchnorm</th><th scope="col">status<br>baseline / batchnorm</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  const grid = h('div', { class: 'charts' });
  root.append(summary, timing, grid, h('details', { class: 'table-wrap' }, h('summary', {}, 'Table of runs'), table));
  const valChart = createChart(grid, { id: 'sweep-val-acc', title: 'Best val accuracy vs weight initialization scale', xLabel: 'Weight initialization scale', yLabel: 'Best val accuracy', logX: true, series });
  const trainChart = createChart(grid, { id: 'sweep-train-acc', title: 'Best train accuracy vs weight initialization scale', xLabel: 'Weight initialization scale', yLabel: 'Best training accuracy', logX: true, series });
  const lossChart = createChart(grid, { id: 'sweep-final-loss', title: 'Final training loss vs weight initialization scale', xLabel: 'Weight initialization scale', yLabel: 'Final training loss', logX: true, logY: true, series });
  const chartList: Chart[] = [valChart, trainChart, lossChart];

  const both = (r: ScaleResult, f: (t: TrainRecord) => string) =>
    `${r.runs.baseline ? f(r.runs.baseline) : '…'} / ${r.runs.batchnorm ? f(r.runs.batchnorm) : '…'}`;
  const statusOf = (t: TrainRecord) => (t.status === 'diverged' ? `diverged@${t.divergedAt}` : t.status);

  const redraw = () => {
    const done = results.filter((r) => r.runs.baseline || r.runs.batchnorm);
    const xs = done.map((r) => r.weightScale);
    const pick = (f: (t: TrainRecord) => number) => (['baseline', 'batchnorm'] as ModelLabel[]).map((l) => done.map((r) => (r.runs[l] ? f(r.runs[l]!) : null)));
    const markers = (f: (t: TrainRecord) => number): Marker[] => done.flatMap((r) => (['baseline', 'batchnorm'] as ModelLabel[]).flatMap((l, si) => {
      const t = r.runs[l];
      return t && t.status === 'diverged' ? [{ series: si, x: r.weightScale, y: Number.isFinite(f(t)) ? f(t) : null, label: `${l} diverged` }] : [];
    }));
    valChart.setData(xs, pick((t) => t.bestValAcc), markers((t) => t.bestValAcc));
    trainChart.setData(xs, pick((t) => t.bestTrainAcc), markers((t) => t.bestTrainAcc));
    lossChart.setData(xs, pick((t) => t.finalLoss), markers((t) => t.finalLoss));
    tbody.replaceChildren(...results.map((r, i) => {
      const tr = h('tr', { 'data-testid': `sweep-row-${i}` },
        h('td', {}, String(i + 1)), h('td', {}, r.weightScale.toExponential(2)),
        h('td', {}, both(r, (t) => fmt(t.bestValAcc, 3))), h('td', {}, both(r, (t) => fmt(t.bestTrainAcc, 3))),
        h('td', {}, both(r, (t) => fmt(t.finalLoss, 4))), h('td', {}, both(r, statusOf)));
      if (Object.values(r.runs).some((t) => t.status === 'diverged')) tr.classList.add('diverged');
      return tr;
    }));
    const finished = results.filter((r) => r.runs.baseline && r.runs.batchnorm).length;
    const diverged = results.flatMap((r) => Object.values(r.runs)).filter((t) => t.status === 'diverged').length;
    summary.textContent = `${finished} of ${results.length} scales done (both models), ${diverged} diverged runs`;
    document.dispatchEvent(new CustomEvent('demo:sweep', { detail: results }));
  };

  async function run(): Promise<void> {
    const s = form.read();
    form.setDisabled(true);
    try {
      const kind = ctx.modelKind();
      control.setDetail('waiting for CIFAR-10 (see the CIFAR-10 box above: it loads from the server, or drop the files there)…');
      const data = makeSolverData(await ctx.dataset(), s.numTrain as number, s.numVal as number);
      Object.assign(gate, createGate());
      const scales = logspace(s.fromExp as number, s.toExp as number, s.numScales as number);
      results = scales.map((weightScale) => ({ weightScale, runs: {} }));
      timing.textContent = '';
      redraw();
      const perModel = iterationsOf(s);
      const total = perModel * labels.length * scales.length;
      // batched: one population per network kind (GPU only: the CPU reference trains one net at a time)
      const batched = s.training === 'batched' && kind === 'gpu';
      const times: Partial<Record<ModelLabel, number>> = {};
      let doneBefore = 0;
      const t0 = performance.now();
      if (batched) {
        for (const label of labels) {
          if (gate.stopped) break;
          control.setDetail(`${scales.length} ${label} networks as one population on the GPU`);
          const t = performance.now();
          const records = await trainPopulation({
            gpu: ctx.gpu!, label, settings: s, weightScales: scales, data, gate,
            onProgress: (p) => control.setProgress(doneBefore + p.iteration * scales.length, total),
          });
          times[label] = (performance.now() - t) / 1000;
          records.forEach((record, i) => { results[i]!.runs[label] = record; });
          doneBefore += perModel * scales.length;
          control.setProgress(doneBefore, total);
          redraw();
        }
      } else {
        for (const label of labels) times[label] = 0;
        for (const [i, r] of results.entries()) {
          for (const label of labels) {
            if (gate.stopped) break;
            control.setDetail(`weight scale ${i + 1} / ${scales.length} (${r.weightScale.toExponential(2)}): ${label} network on ${kind === 'gpu' ? 'the GPU' : 'the CPU'}`);
            const t = performance.now();
            const { record, model } = await trainOne({
              kind, gpu: ctx.gpu, label, settings: s, weightScale: r.weightScale, data, gate,
              onProgress: (p) => control.setProgress(doneBefore + p.iteration, total),
            });
            model.destroy();
            times[label]! += (performance.now() - t) / 1000;
            r.runs[label] = record;
            doneBefore += perModel; // a diverged run ends early; the bar counts it as done
            control.setProgress(doneBefore, total);
            redraw();
          }
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const how = batched ? 'batched: one population per network' : `sequential${s.training === 'batched' ? ' (the CPU reference trains one net at a time)' : ''}`;
      timing.textContent = `${how}; batchnorm ${fmt(times.batchnorm ?? NaN, 3)} s, baseline ${fmt(times.baseline ?? NaN, 3)} s, total ${fmt(seconds, 3)} s`;
      control.setDetail(`${results.flatMap((r) => Object.values(r.runs)).length} runs in ${seconds.toFixed(1)} s on ${kind === 'gpu' ? 'the GPU' : 'the CPU'} (${batched ? 'batched' : 'sequential'})`);
      lastRun = {
        experiment: 'sweep',
        settings: { ...s, model: kind },
        adapter: adapterRecord(ctx),
        seconds,
        training: batched ? 'batched' : 'sequential',
        secondsPerNetwork: times,
        weightScales: scales,
        runs: results,
      };
    } finally {
      form.setDisabled(false);
    }
  }

  const panel: Panel = {
    name: 'sweep',
    control,
    chartIds: chartList.map((c) => c.spec.id),
    results: () => lastRun,
    csvRows: () => results.flatMap((r) => Object.values(r.runs).map((t) => ({
      weightScale: r.weightScale, model: t.label, status: t.status, divergedAt: t.divergedAt ?? '',
      bestValAcc: t.bestValAcc, bestTrainAcc: t.bestTrainAcc, finalLoss: t.finalLoss, iterations: t.iterations, seconds: t.seconds,
    }))),
  };
  createDownloads(root, panel, 'sweep');
  return panel;
}
