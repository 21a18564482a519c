// The seed's cell 6 in the page: the backward speedup (demo/experiments/speedup.ts) with its table, chart and summary.
import { colors, createChart } from '../charts.ts';
import type { DemoContext, Panel } from '../context.ts';
import { fmt, h } from '../dom.ts';
import { createPassGate } from '../experiments/pass-gate.ts';
import { runSpeedup, speedupCsvRows, type SpeedupResult, type SpeedupRow } from '../experiments/speedup.ts';
import { pageEnv } from '../train.ts';
import { createRunControl } from '../run-control.ts';
import { createSettingsForm } from '../settings-form.ts';
import { createDownloads } from './downloads.ts';
import { createPassesView } from './speedup-passes.ts';

export type { SpeedupRow } from '../experiments/speedup.ts';

/**
 * The speedup panel: for each N×D, the same train-mode cache on the GPU, both backward variants timed per pass,
 * their dx compared, and the float64 CPU reference timed the seed's way beside them.
 *   const panel = createSpeedupPanel(el, ctx);
 *   await panel.control.run();
 */
export function createSpeedupPanel(root: HTMLElement, ctx: DemoContext): Panel {
  const settings = ctx.state.panels.speedup;
  const form = createSettingsForm(
    root,
    'speedup',
    settings,
    () => ctx.syncUrl(),
    () => ctx.gpu?.device.limits ?? null,
  );
  let gate = createPassGate();
  let rows: SpeedupRow[] = [];
  let lastRun: SpeedupResult | null = null;
  const control = createRunControl(root, 'speedup', {
    start: () => run(),
    pause: () => gate.pause(),
    resume: () => gate.resume(),
    stop: () => gate.stop(),
  });
  const summary = h('p', { 'data-testid': 'speedup-summary', class: 'summary' }, 'not run yet');
  const table = h('table', { class: 'results', 'data-testid': 'speedup-results' });
  table.innerHTML =
    '<thead><tr><th scope="col">N × D</th><th scope="col">GPU graph (ms)</th><th scope="col">GPU alternative (ms)</th>' +
    '<th scope="col">GPU speedup</th><th scope="col">dx difference</th><th scope="col">CPU graph (ms)</th>' +
    '<th scope="col">CPU alternative (ms)</th><th scope="col">CPU speedup</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  const grid = h('div', { class: 'charts' });
  root.append(summary, table, grid);
  const chart = createChart(grid, {
    id: 'speedup-time',
    title: 'Batchnorm backward on the GPU: time per pass vs size',
    xLabel: 'N × D (elements)',
    yLabel: 'ms per pass',
    logX: true,
    logY: true,
    series: [
      { label: 'graph', color: colors.graph, points: true },
      { label: 'alternative', color: colors.alternative, points: true },
    ],
  });
  const passes = createPassesView(root);

  const render = () => {
    tbody.replaceChildren(
      ...rows.map((r, i) =>
        h(
          'tr',
          { 'data-testid': `speedup-row-${i}` },
          h('th', { scope: 'row' }, `${r.n} × ${r.d}`),
          h('td', {}, fmt(r.graphMs, 3)),
          h('td', {}, fmt(r.alternativeMs, 3)),
          h('td', { 'data-testid': `speedup-${i}-speedup` }, `${r.speedup.toFixed(2)}×`),
          h('td', {}, fmt(r.dxDifference, 2)),
          h('td', {}, fmt(r.cpuGraphMs, 3)),
          h('td', {}, fmt(r.cpuAlternativeMs, 3)),
          h('td', {}, `${r.cpuSpeedup.toFixed(2)}×`),
        ),
      ),
    );
    const sorted = [...rows].sort((a, b) => a.n * a.d - b.n * b.d);
    chart.setData(
      sorted.map((r) => r.n * r.d),
      [sorted.map((r) => r.graphMs), sorted.map((r) => r.alternativeMs)],
    );
  };

  const summarize = (r: SpeedupResult) => {
    const seedRow = r.rows.find((x) => x.n === 100 && x.d === 500) ?? r.rows[0];
    if (!seedRow) return;
    const a = r.adapter as { vendor?: string; architecture?: string };
    const where = `${a.vendor || 'adapter'} / ${a.architecture || '?'}`;
    summary.textContent =
      `${seedRow.n} × ${seedRow.d}: the closed form is ${seedRow.speedup.toFixed(2)}× the speed of the graph on the GPU ` +
      `(${fmt(seedRow.graphMs, 3)} ms vs ${fmt(seedRow.alternativeMs, 3)} ms per pass, ${seedRow.timer}, ${where}); ` +
      `float64 CPU reference: ${seedRow.cpuSpeedup.toFixed(2)}×`;
  };

  async function run(): Promise<void> {
    const s = form.read();
    form.setDisabled(true);
    gate = createPassGate();
    rows = [];
    render();
    passes.show(null);
    try {
      const r = await runSpeedup(s, pageEnv(ctx), {
        progress: control,
        gate,
        onRows: (x) => {
          rows = x;
          render();
        },
      });
      if (!r) return;
      summarize(r);
      passes.show(r);
      lastRun = r;
    } finally {
      form.setDisabled(false);
    }
  }

  const panel: Panel = {
    name: 'speedup',
    control,
    chartIds: ['speedup-time', ...passes.chartIds],
    results: () => lastRun,
    csvRows: () => speedupCsvRows(rows, lastRun?.copy),
    show(result) {
      lastRun = result as unknown as SpeedupResult;
      rows = lastRun.rows;
      render();
      summarize(lastRun);
      passes.show(lastRun);
    },
  };
  createDownloads(root, panel, 'speedup');
  return panel;
}
