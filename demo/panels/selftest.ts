// The "Check this GPU" box: the self-test (demo/experiments/selftest.ts) run on the page's device, shown as a table.
import type { GpuContext } from '../../src/index.ts';
import { h } from '../dom.ts';
import { formatSelfTest, runSelfTest, type SelfTestOptions, type SelfTestResults } from '../experiments/selftest.ts';

/** What a run gives the page's handle (and `npm run selftest` on the page runtime): the results, the text table, the adapter. */
export interface SelfTestRun {
  results: SelfTestResults;
  table: string;
  adapter: Record<string, unknown>;
}

/**
 * Add the "Check this GPU" button, its progress and its table under `root`; `run` is what the button does.
 *   const check = createSelfTestPanel(deviceBox, () => handle.gpu);
 *   const { results } = await check.run(); // results.failed === 0 on a healthy GPU
 */
export function createSelfTestPanel(root: HTMLElement, gpuOf: () => GpuContext | null): { run(o?: SelfTestOptions): Promise<SelfTestRun> } {
  const button = h('button', { type: 'button', 'data-testid': 'selftest-run' }, 'Check this GPU');
  const progress = h('progress', { 'data-testid': 'selftest-progress', value: '0', max: '1', hidden: '' });
  const status = h('span', { 'data-testid': 'selftest-status', class: 'note', role: 'status' });
  const table = h('table', { class: 'results', 'data-testid': 'selftest-results', hidden: '' });
  table.innerHTML =
    '<thead><tr><th scope="col">kernel</th><th scope="col">variant</th><th scope="col">shape</th>' +
    '<th scope="col">worst error</th><th scope="col">tolerance</th><th scope="col">result</th></tr></thead>';
  const tbody = h('tbody');
  const notes = h('p', { class: 'note', 'data-testid': 'selftest-notes' });
  table.append(tbody);
  root.append(h('p', {}, button, ' ', progress, ' ', status), table, notes);

  const show = (r: SelfTestResults) => {
    tbody.replaceChildren(
      ...r.rows.map((x) =>
        h(
          'tr',
          { 'data-testid': 'selftest-row', 'data-pass': String(x.pass) },
          ...[x.kernel, x.variant, x.shape, `${x.worstError.toExponential(2)} (${x.worstOf})`, x.tolerance.toExponential(0)].map((t) =>
            h('td', {}, t),
          ),
          h('td', { class: x.pass ? 'pass' : 'fail' }, x.pass ? 'pass' : 'FAIL'),
        ),
      ),
    );
    table.hidden = false;
    const a = r.adapter;
    notes.textContent = [
      `${a.vendor} / ${a.architecture} / ${a.description || a.device}; features: ${a.features.join(', ')}`,
      ...r.skipped.map((s) => `not run here: ${s}`),
    ].join('. ');
  };

  const run = async (o: SelfTestOptions = {}): Promise<SelfTestRun> => {
    const gpu = gpuOf();
    if (!gpu) throw new Error('Check this GPU: the page has no WebGPU device (see the GPU box)');
    button.disabled = true;
    progress.hidden = false;
    status.textContent = 'running…';
    try {
      const results = await runSelfTest(gpu, {
        ...o,
        progress: {
          setProgress(done, total) {
            progress.value = done;
            progress.max = total;
          },
          setDetail(text) {
            status.textContent = text;
          },
        },
      });
      show(results);
      status.textContent = `${results.passed} of ${results.rows.length} cases pass, ${results.failed} fail (${results.seconds.toFixed(1)} s)`;
      status.dataset.state = results.failed ? 'fail' : 'pass';
      return { results, table: formatSelfTest(results), adapter: { ...gpu.adapter, timestampQuery: gpu.hasTimestampQuery } };
    } catch (e) {
      status.textContent = `error: ${(e as Error).message}`;
      status.dataset.state = 'error';
      throw e;
    } finally {
      button.disabled = false;
      progress.hidden = true;
    }
  };
  button.addEventListener('click', () => {
    run().catch(() => {}); // the status line says what went wrong
  });
  if (!gpuOf()) button.disabled = true;
  return { run };
}
