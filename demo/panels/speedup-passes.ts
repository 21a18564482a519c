// Where the backward's time goes: each variant's passes (GPU ms, bytes, GB/s) against the adapter's copy roof.
import { colors, createChart, type Chart } from '../charts.ts';
import { fmt, h } from '../dom.ts';
import type { CopyRoof, PassRecord, SpeedupResult, SpeedupRow } from '../experiments/speedup.ts';

const variants = [
  { key: 'graph', name: 'graph', color: colors.graph },
  { key: 'alternative', name: 'closed form', color: colors.alternative },
] as const;

/** Bytes in B / KB / MB / GB (powers of 1000, as GB/s is). */
function fmtBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let k = 0;
  while (b >= 1000 && k < units.length - 1) ((b /= 1000), k++);
  return `${fmt(b, 3)} ${units[k]}`;
}

const total = (ps: PassRecord[], f: (p: PassRecord) => number) => ps.reduce((s, p) => s + f(p), 0);

/**
 * The line "graph: N passes, X ms; closed form: M passes, Y ms; the closed form moves B in Y ms at Z% of the copy roof".
 *   passSummary(row, result.copy); // '100 × 500: graph: 5 passes, 0.41 ms, 2.22 MB; closed form: 1 pass, 0.09 ms; ...'
 */
export function passSummary(row: SpeedupRow, copy: CopyRoof): string {
  const { copyGbps } = copy;
  const count = (ps: PassRecord[]) => `${ps.length} pass${ps.length === 1 ? '' : 'es'}`;
  const g = row.graphPasses;
  const a = row.alternativePasses;
  const aMs = total(a, (p) => p.ms);
  const aBytes = total(a, (p) => p.bytes);
  const aGbps = aBytes / (aMs * 1e6);
  return (
    `${row.n} × ${row.d}: graph: ${count(g)}, ${fmt(
      total(g, (p) => p.ms),
      3,
    )} ms, ${fmtBytes(total(g, (p) => p.bytes))}; ` +
    `closed form: ${count(a)}, ${fmt(aMs, 3)} ms; the closed form moves ${fmtBytes(aBytes)} in ${fmt(aMs, 3)} ms ` +
    `(${fmt(aGbps, 3)} GB/s) at ${fmt((100 * aGbps) / copyGbps, 3)}% of the copy roof (${fmt(copyGbps, 3)} GB/s copying ${fmtBytes(copy.copyBytes)}; ${row.passTimer})`
  );
}

/**
 * The passes view under the speedup table: the summary line, a table of every pass, and a bar chart per variant
 * (x: pass, y: GB/s) with the copy roof drawn across, all for one size (the seed's 100 × 500 when it ran).
 *   const view = createPassesView(root);
 *   view.show(result);
 */
export function createPassesView(root: HTMLElement): { chartIds: string[]; show(r: SpeedupResult | null): void } {
  const line = h('p', { 'data-testid': 'speedup-roof', class: 'summary' }, 'passes: not run yet');
  const table = h('table', { class: 'results', 'data-testid': 'speedup-passes' });
  table.innerHTML =
    '<thead><tr><th scope="col">variant</th><th scope="col">pass</th><th scope="col">GPU ms</th>' +
    '<th scope="col">bytes</th><th scope="col">GB/s</th><th scope="col">% of copy roof</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  const grid = h('div', { class: 'charts' });
  root.append(line, table, grid);
  let labels: Record<string, string[]> = {};
  const chartsByVariant = new Map<string, Chart>();
  for (const v of variants) {
    chartsByVariant.set(
      v.key,
      createChart(grid, {
        id: `speedup-passes-${v.key}`,
        title: `Backward passes, ${v.name}: GB/s per pass vs the copy roof`,
        xLabel: 'pass',
        yLabel: 'GB/s',
        series: [
          { label: `${v.name} GB/s`, color: v.color, bars: true, points: true },
          { label: 'copy roof', color: '#444', dash: [6, 4] },
        ],
        xTick: (x) => (Number.isInteger(x) ? (labels[v.key]?.[x - 1] ?? '') : ''),
      }),
    );
  }

  return {
    chartIds: variants.map((v) => `speedup-passes-${v.key}`),
    show(r) {
      const row = r && (r.rows.find((x) => x.n === 100 && x.d === 500) ?? r.rows[0]);
      if (!r || !row || !row.graphPasses) {
        tbody.replaceChildren();
        line.textContent = 'passes: not run yet';
        return;
      }
      line.textContent = passSummary(row, r.copy);
      labels = { graph: row.graphPasses.map((p) => p.label), alternative: row.alternativePasses.map((p) => p.label) };
      tbody.replaceChildren(
        ...variants.flatMap((v) =>
          (v.key === 'graph' ? row.graphPasses : row.alternativePasses).map((p, k) =>
            h(
              'tr',
              { 'data-testid': `speedup-pass-${v.key}-${k}` },
              h('th', { scope: 'row' }, v.name),
              h('td', {}, p.label),
              h('td', {}, fmt(p.ms, 3)),
              h('td', {}, String(p.bytes)),
              h('td', {}, fmt(p.gbps, 3)),
              h('td', {}, `${fmt((100 * p.gbps) / r.copyGbps, 3)}%`),
            ),
          ),
        ),
      );
      for (const v of variants) {
        const ps = v.key === 'graph' ? row.graphPasses : row.alternativePasses;
        // the roof spans half a pass beyond each end; the bars sit at 1..k
        const x = [0.5, ...ps.map((_, k) => k + 1), ps.length + 0.5];
        chartsByVariant.get(v.key)!.setData(x, [[null, ...ps.map((p) => p.gbps), null], x.map(() => r.copyGbps)]);
      }
    },
  };
}
