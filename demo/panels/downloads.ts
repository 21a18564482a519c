// The download row under a panel: results as JSON and CSV, each chart as PNG, trained parameters as safetensors.
import { charts } from '../charts.ts';
import type { Panel } from '../context.ts';
import { h } from '../dom.ts';
import { download, toCsv, toJson } from '../export.ts';

/**
 * Buttons `${id}-download-json`, `-csv`, `-png`, `-safetensors` (the last only for panels that train);
 * each says in `${id}-download-note` what it did or why it could not.
 *   createDownloads(root, panel, 'exp1');
 */
export function createDownloads(root: HTMLElement, panel: Panel, id: string): void {
  const note = h('span', { class: 'note', 'data-testid': `${id}-download-note`, role: 'status' });
  const button = (what: string, label: string, act: () => Promise<string>) => {
    const b = h('button', { type: 'button', 'data-testid': `${id}-download-${what}` }, label);
    b.addEventListener('click', () => {
      act().then(
        (msg) => {
          note.textContent = msg;
        },
        (e: Error) => {
          note.textContent = `not saved: ${e.message}`;
        },
      );
    });
    return b;
  };
  const need = () => {
    const r = panel.results();
    if (!r) throw new Error('run the panel first');
    return r;
  };
  const row = h(
    'div',
    { class: 'downloads' },
    h('span', { class: 'downloads-label' }, 'Download:'),
    button('json', 'results JSON', async () => {
      download(toJson(need()), `${panel.name}-results.json`, 'application/json');
      return `saved ${panel.name}-results.json`;
    }),
    button('csv', 'results CSV', async () => {
      need();
      download(toCsv(panel.csvRows()), `${panel.name}-results.csv`, 'text/csv');
      return `saved ${panel.name}-results.csv`;
    }),
  );
  if (panel.chartIds.length) {
    row.append(
      button('png', 'charts PNG', async () => {
        for (const cid of panel.chartIds) download(await charts.get(cid)!.toPng(), `${cid}.png`, 'image/png');
        return `saved ${panel.chartIds.map((c) => `${c}.png`).join(', ')}`;
      }),
    );
  }
  if (panel.safetensors) {
    row.append(
      button('safetensors', 'parameters (safetensors)', async () => {
        need();
        const files = await panel.safetensors!();
        if (files.length === 0) throw new Error('no trained model kept');
        for (const f of files) download(f.bytes, f.name);
        return `saved ${files.map((f) => f.name).join(', ')}`;
      }),
    );
  }
  row.append(note);
  root.append(row);
}
