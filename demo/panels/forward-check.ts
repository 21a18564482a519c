// The seed's cells 3 and 4 in the page: the forward check (demo/experiments/forward.ts) with its table and verdict.
import type { DemoContext, Panel } from '../context.ts';
import { fmt, fmtList, h } from '../dom.ts';
import { forwardCsvRows, runForwardCheck, type CaseResult, type ForwardResult } from '../experiments/forward.ts';
import { createPassGate } from '../experiments/pass-gate.ts';
import { pageEnv } from '../train.ts';
import { createRunControl } from '../run-control.ts';
import { createSettingsForm } from '../settings-form.ts';
import { createDownloads } from './downloads.ts';

export { columnStats, compare } from '../experiments/forward.ts';

/**
 * The forward-check panel: cell 3 (train mode, trivial and non-trivial gamma/beta) and cell 4 (test mode after
 * warm-up batches), each on the GPU and in the float64 reference, with means, stds and the GPU's error.
 *   const panel = createForwardCheckPanel(el, ctx);
 *   await panel.control.run();
 */
export function createForwardCheckPanel(root: HTMLElement, ctx: DemoContext): Panel {
  const settings = ctx.state.panels.forward;
  const form = createSettingsForm(
    root,
    'forward',
    settings,
    () => ctx.syncUrl(),
    () => ctx.gpu?.device.limits ?? null,
  );
  let gate = createPassGate();
  let results: CaseResult[] = [];
  let lastRun: ForwardResult | null = null;
  const control = createRunControl(root, 'forward', {
    start: () => run(),
    pause: () => gate.pause(),
    resume: () => gate.resume(),
    stop: () => gate.stop(),
  });
  const verdict = h('p', { 'data-testid': 'forward-verdict', class: 'summary' }, 'not run yet');
  const table = h('table', { class: 'results', 'data-testid': 'forward-results' });
  table.innerHTML =
    '<thead><tr><th scope="col">case</th><th scope="col">CPU float64: means / stds</th>' +
    '<th scope="col">GPU float32: means / stds</th><th scope="col">GPU vs CPU output</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  root.append(verdict, table);

  const render = () => {
    tbody.replaceChildren(
      ...results.map((r) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, r.title),
          h(
            'td',
            {},
            h('div', { 'data-testid': `forward-${r.name}-cpu-means` }, `means ${fmtList(r.cpu.means)}`),
            h('div', { 'data-testid': `forward-${r.name}-cpu-stds` }, `stds ${fmtList(r.cpu.stds)}`),
          ),
          h(
            'td',
            {},
            ...(r.gpu
              ? [
                  h('div', { 'data-testid': `forward-${r.name}-gpu-means` }, `means ${fmtList(r.gpu.means)}`),
                  h('div', { 'data-testid': `forward-${r.name}-gpu-stds` }, `stds ${fmtList(r.gpu.stds)}`),
                ]
              : [r.name === 'before' ? '(the same input)' : '–']),
          ),
          h(
            'td',
            { 'data-testid': `forward-${r.name}-error` },
            r.error ? `max |Δ| ${fmt(r.error.maxAbs, 2)}, ‖Δ‖/‖ref‖ ${fmt(r.error.normRatio, 2)}` : '–',
          ),
        ),
      ),
    );
  };

  async function run(): Promise<void> {
    const s = form.read();
    form.setDisabled(true);
    gate = createPassGate();
    results = [];
    render();
    try {
      const env = pageEnv(ctx);
      const r = await runForwardCheck(s, env, {
        progress: control,
        gate,
        onCases: (c) => {
          results = c;
          render();
        },
      });
      if (!r) return;
      const worst = r.worstNormRatio;
      const ok = worst < 1e-4;
      verdict.dataset.ok = String(ok);
      verdict.textContent = ok
        ? `GPU (float32) matches the float64 reference: worst ‖Δ‖/‖ref‖ = ${fmt(worst, 2)} on ${ctx.gpu!.adapter.vendor || 'the adapter'} / ${ctx.gpu!.adapter.architecture}`
        : `GPU differs from the reference: worst ‖Δ‖/‖ref‖ = ${fmt(worst, 2)}`;
      lastRun = r;
    } finally {
      form.setDisabled(false);
    }
  }

  const panel: Panel = {
    name: 'forward',
    control,
    chartIds: [],
    results: () => lastRun,
    csvRows: () => forwardCsvRows(results),
  };
  createDownloads(root, panel, 'forward');
  return panel;
}
