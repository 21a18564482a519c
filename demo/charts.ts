// uPlot line charts for the panels: live data, diverged-run markers, a points caption for tests, PNG export.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.ts';

export interface SeriesSpec {
  label: string;
  color: string;
  dash?: number[];
  /** Draw a dot at every point (per-epoch and per-scale data) rather than only the line. */
  points?: boolean;
  /** Draw bars at each x (a pass of a kernel list) rather than a line. */
  bars?: boolean;
}

export interface ChartSpec {
  /** Also the data-testid prefix: `${id}-chart`, `${id}-points`. */
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  /** Plot log10(y) on a linear axis labelled in y (robust where losses span 30 decades, unlike a log scale). */
  logY?: boolean;
  series: SeriesSpec[];
  height?: number;
  /** Tick text of a linear x axis (pass names at 1, 2, 3...); integer steps when absent. */
  xTick?: (v: number) => string;
}

/** A point to ring in red with a label (a run that diverged); a non-finite y puts it at the top of the plot. */
export interface Marker {
  series: number;
  x: number;
  y: number | null;
  label: string;
}

export interface Chart {
  spec: ChartSpec;
  root: HTMLElement;
  /** The uPlot instance (scales, series) for tests and debugging. */
  uplot: uPlot;
  /** x values and one y array per series (null = no point), plus markers. */
  setData(x: number[], ys: (number | null)[][], markers?: Marker[]): void;
  /** The data as drawn: x and each series. */
  data(): { x: number[]; ys: (number | null)[][]; markers: Marker[] };
  /** Finite points per series (what the tests read through `${id}-points`). */
  pointCounts(): number[];
  toPng(): Promise<Blob>;
  destroy(): void;
}

/** Every chart on the page by id, for the export buttons, the tests and the command line. */
export const charts = new Map<string, Chart>();

/** Colours: baseline and batchnorm keep theirs on every chart. */
export const colors = { baseline: '#1f77b4', batchnorm: '#d62728', graph: '#2ca02c', alternative: '#9467bd', extra: '#ff7f0e' };

/** Axis tick text: plain for ordinary numbers, 1e6-style for huge or tiny ones (a diverging loss reaches 1e7). */
function tickText(v: number | null): string {
  if (v === null || v === undefined) return '';
  if (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3)) {
    const e = Math.floor(Math.log10(Math.abs(v)));
    const m = v / 10 ** e;
    return Math.abs(m - 1) < 1e-9 ? `1e${e}` : `${Number(m.toPrecision(2))}e${e}`;
  }
  return String(Number(v.toPrecision(6)));
}

function isDecade(v: number): boolean {
  const e = Math.log10(Math.abs(v));
  return Math.abs(e - Math.round(e)) < 1e-9;
}

/**
 * Splits of a log axis: every k-th decade (at most ~8 labels, so a loss that reached 1e33 still labels cleanly), or
 * 1-2-5 steps when the range spans two decades or less. uPlot's own log splits thin out over very wide ranges.
 */
function logSplits(_u: uPlot, _axis: number, min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const inside = (v: number) => v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9);
  const out: number[] = [];
  if (hi - lo > 2) {
    const step = Math.max(1, Math.ceil((hi - lo) / 8));
    for (let e = lo; e <= hi; e += step) if (inside(10 ** e)) out.push(10 ** e);
  } else {
    for (let e = lo; e <= hi; e++) for (const m of [1, 2, 5]) if (inside(m * 10 ** e)) out.push(m * 10 ** e);
  }
  return out.length ? out : [min, max];
}
const logAxis = { splits: logSplits, filter: (_u: uPlot, splits: number[]) => splits }; // label every split we chose
/** Tick steps of a log10-transformed y axis: fractions of a decade for short ranges, whole decades for long ones. */
function logYTick(v: number | null): string {
  if (v === null || v === undefined) return '';
  const r = Math.round(v);
  if (Math.abs(v - r) < 1e-9) return Math.abs(r) < 4 ? String(10 ** r) : `1e${r}`;
  return tickText(Number((10 ** v).toPrecision(3)));
}
const logYSteps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20];

const integerSteps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

function finite(v: number | null | undefined): v is number {
  return v !== null && v !== undefined && Number.isFinite(v);
}

/**
 * A chart in `container` (a figure with the title, the plot, and a caption counting points per series).
 *   const c = createChart(el, { id: 'exp1-loss', title: 'Training loss', xLabel: 'iteration', yLabel: 'loss', series });
 *   c.setData([1, 2, 3], [[2.3, 2.2, 2.1], [2.3, 2.0, 1.9]]);
 */
export function createChart(container: HTMLElement, spec: ChartSpec): Chart {
  const plot = h('div', {
    class: 'plot',
    'data-testid': `${spec.id}-chart`,
    role: 'img',
    'aria-label': `${spec.title}: ${spec.yLabel} against ${spec.xLabel}`,
  });
  const caption = h('figcaption', { 'data-testid': `${spec.id}-points`, class: 'points' }, 'no data yet');
  const root = h('figure', { class: 'chart', id: spec.id }, h('div', { class: 'chart-title' }, spec.title), plot, caption);
  container.append(root);
  let xs: number[] = [];
  let yss: (number | null)[][] = spec.series.map(() => []);
  let markers: Marker[] = [];
  const toY = (v: number): number | null => (spec.logY ? (v > 0 ? Math.log10(v) : null) : v);

  const drawMarkers = (u: uPlot) => {
    const { ctx } = u;
    const px = devicePixelRatio;
    ctx.save();
    for (const m of markers) {
      const cx = u.valToPos(m.x, 'x', true);
      const top = u.bbox.top + 10 * px;
      const my = finite(m.y) ? toY(m.y) : null;
      const cy = finite(my) ? u.valToPos(my, 'y', true) : top;
      if (!Number.isFinite(cx)) continue;
      ctx.strokeStyle = spec.series[m.series]?.color ?? '#d00';
      ctx.lineWidth = 2 * px;
      const r = 5 * px;
      ctx.beginPath();
      ctx.moveTo(cx - r, cy - r);
      ctx.lineTo(cx + r, cy + r);
      ctx.moveTo(cx + r, cy - r);
      ctx.lineTo(cx - r, cy + r);
      ctx.stroke();
      ctx.fillStyle = '#b00';
      ctx.font = `${11 * px}px system-ui, sans-serif`;
      const w = ctx.measureText(m.label).width;
      const right = u.bbox.left + u.bbox.width;
      ctx.textAlign = 'left';
      ctx.fillText(m.label, Math.max(u.bbox.left, Math.min(cx - w / 2, right - w)), cy + (finite(m.y) ? -8 : 18) * px);
    }
    ctx.restore();
  };

  const opts: uPlot.Options = {
    width: Math.max(300, plot.clientWidth || container.clientWidth || 600),
    height: spec.height ?? 240,
    scales: {
      x: spec.logX ? { time: false, distr: 3, log: 10 } : { time: false },
      // bars stand on zero
      ...(spec.series.some((s) => s.bars) && { y: { range: (_u: uPlot, _min: number, max: number) => [0, max * 1.1] } }),
    },
    axes: [
      spec.logX
        ? {
            label: spec.xLabel,
            values: (_u, vals) => vals.map((v) => (v == null ? '' : isDecade(v) ? `1e${Math.round(Math.log10(v))}` : tickText(v))),
            ...logAxis,
          }
        : { label: spec.xLabel, incrs: integerSteps, ...(spec.xTick && { values: (_u, vals) => vals.map((v) => spec.xTick!(v)) }) }, // iterations and epochs are whole numbers
      spec.logY
        ? { label: spec.yLabel, size: 60, incrs: logYSteps, values: (_u, vals) => vals.map(logYTick) }
        : { label: spec.yLabel, size: 60, values: (_u, vals) => vals.map(tickText) },
    ],
    series: [
      { label: spec.xLabel },
      ...spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        dash: s.dash,
        points: { show: s.points ?? false, size: 6, fill: s.color },
        spanGaps: true,
        ...(s.bars && { paths: uPlot.paths.bars!({ size: [0.6, 80] }), fill: `${s.color}99` }),
      })),
    ],
    legend: { show: true, live: false },
    hooks: { draw: [drawMarkers] },
  };
  const u = new uPlot(opts, [[], ...spec.series.map(() => [])] as uPlot.AlignedData, plot);
  const ro = new ResizeObserver(() => {
    const w = plot.clientWidth;
    if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: opts.height });
  });
  ro.observe(plot);

  const chart: Chart = {
    spec,
    root,
    uplot: u,
    setData(x, ys, m = []) {
      xs = x;
      yss = ys;
      markers = m;
      // uPlot wants undefined-free numbers or null; non-finite values are gaps (diverged runs are markers instead)
      const clean = ys.map((y) => y.map((v) => (finite(v) ? toY(v) : null)));
      u.setData([x, ...clean] as uPlot.AlignedData, true);
      const counts = chart.pointCounts();
      caption.textContent =
        spec.series.map((s, i) => `${s.label}: ${counts[i]} points`).join(' · ') +
        (markers.length ? ` · ${markers.length} marked diverged` : '');
    },
    data: () => ({ x: xs, ys: yss, markers }),
    pointCounts: () => yss.map((y) => y.filter(finite).length),
    async toPng() {
      const src = u.ctx.canvas;
      const px = devicePixelRatio;
      const titleH = 28 * px;
      // Legend entries wrap onto as many lines as the width needs (measured with the font they are drawn in).
      const measure = document.createElement('canvas').getContext('2d')!;
      measure.font = `${12 * px}px system-ui, sans-serif`;
      const lines: { s: SeriesSpec; x: number }[][] = [[]];
      let lx = 60 * px;
      for (const s of spec.series) {
        const w = (34 + measure.measureText(s.label).width / px) * px;
        if (lx + w > src.width && lines[lines.length - 1]!.length) {
          lines.push([]);
          lx = 60 * px;
        }
        lines[lines.length - 1]!.push({ s, x: lx });
        lx += w;
      }
      const legendH = (8 + 16 * lines.length) * px;
      const canvas = document.createElement('canvas');
      canvas.width = src.width;
      canvas.height = src.height + titleH + legendH;
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = '#111';
      let size = 15;
      do {
        ctx.font = `bold ${size * px}px system-ui, sans-serif`;
        size -= 0.5;
      } while (size > 8 && ctx.measureText(spec.title).width > canvas.width - 8 * px);
      ctx.textAlign = 'center';
      ctx.fillText(spec.title, canvas.width / 2, 19 * px);
      ctx.drawImage(src, 0, titleH);
      ctx.font = `${12 * px}px system-ui, sans-serif`;
      ctx.textAlign = 'left';
      lines.forEach((line, k) => {
        const y = titleH + src.height + (16 + 16 * k) * px;
        for (const { s, x } of line) {
          ctx.fillStyle = s.color;
          ctx.fillRect(x, y - 8 * px, 18 * px, 4 * px);
          ctx.fillStyle = '#111';
          ctx.fillText(s.label, x + 24 * px, y);
        }
      });
      return new Promise<Blob>((resolve, reject) =>
        canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/png'),
      );
    },
    destroy() {
      ro.disconnect();
      u.destroy();
      root.remove();
      charts.delete(spec.id);
    },
  };
  charts.set(spec.id, chart);
  return chart;
}
