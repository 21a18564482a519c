// The seed's cell 6 on the GPU: batchnorm backward as the staged graph vs the closed form, timed with timestamp queries.
import {
  createBatchNormBackward, createBatchNormForward, createScope, encodeDispatches, readF32, reference, runDispatches, timeComputePasses,
} from '../../src/index.ts';
import { colors, createChart } from '../charts.ts';
import { adapterRecord, type DemoContext, type Panel } from '../context.ts';
import { fmt, h, yieldToEventLoop } from '../dom.ts';
import { createRunControl } from '../run-control.ts';
import { createSettingsForm } from '../settings-form.ts';
import { compare } from './forward-check.ts';
import { createDownloads } from './downloads.ts';

// The float64 reference (its names are the GPU host forms' too, so they come from the `reference` namespace).
const { backwardBatchNormalization, backwardBatchNormalizationAlternative, forwardBatchNormalization, makeRng } = reference;

export interface SpeedupRow {
  n: number;
  d: number;
  timer: string;
  graphMs: number;
  alternativeMs: number;
  /** graph time / alternative time (> 1: the closed form is faster). */
  speedup: number;
  /** ‖dx_graph − dx_alt‖ / ‖dx_alt‖ on the GPU. */
  dxDifference: number;
  cpuGraphMs: number;
  cpuAlternativeMs: number;
  cpuSpeedup: number;
}

/** Median wall time of `f` over `reps` runs (ms). */
function timeCpu(f: () => void, reps: number): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); f(); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/**
 * The speedup panel: for each N×D, the same train-mode cache on the GPU, both backward variants timed per pass,
 * their dx compared, and the float64 CPU reference timed the seed's way beside them.
 *   const panel = createSpeedupPanel(el, ctx);
 *   await panel.control.run();
 */
export function createSpeedupPanel(root: HTMLElement, ctx: DemoContext): Panel {
  const settings = ctx.state.panels.speedup;
  const form = createSettingsForm(root, 'speedup', settings, () => ctx.syncUrl());
  let stopped = false;
  let paused: { promise: Promise<void>; resume: () => void } | null = null;
  let rows: SpeedupRow[] = [];
  let lastRun: Record<string, unknown> | null = null;
  const control = createRunControl(root, 'speedup', {
    start: () => run(),
    pause: () => {
      if (paused) return;
      let resume!: () => void;
      paused = { promise: new Promise<void>((r) => { resume = r; }), resume };
    },
    resume: () => { paused?.resume(); paused = null; },
    stop: () => { stopped = true; paused?.resume(); paused = null; },
  });
  const summary = h('p', { 'data-testid': 'speedup-summary', class: 'summary' }, 'not run yet');
  const table = h('table', { class: 'results', 'data-testid': 'speedup-results' });
  table.innerHTML = '<thead><tr><th scope="col">N × D</th><th scope="col">GPU graph (ms)</th><th scope="col">GPU alternative (ms)</th>'
    + '<th scope="col">GPU speedup</th><th scope="col">dx difference</th><th scope="col">CPU graph (ms)</th>'
    + '<th scope="col">CPU alternative (ms)</th><th scope="col">CPU speedup</th></tr></thead>';
  const tbody = h('tbody');
  table.append(tbody);
  const grid = h('div', { class: 'charts' });
  root.append(summary, table, grid);
  const chart = createChart(grid, {
    id: 'speedup-time', title: 'Batchnorm backward on the GPU: time per pass vs size', xLabel: 'N × D (elements)', yLabel: 'ms per pass', logX: true, logY: true,
    series: [{ label: 'graph', color: colors.graph, points: true }, { label: 'alternative', color: colors.alternative, points: true }],
  });

  const render = () => {
    tbody.replaceChildren(...rows.map((r, i) => h('tr', { 'data-testid': `speedup-row-${i}` },
      h('th', { scope: 'row' }, `${r.n} × ${r.d}`), h('td', {}, fmt(r.graphMs, 3)), h('td', {}, fmt(r.alternativeMs, 3)),
      h('td', { 'data-testid': `speedup-${i}-speedup` }, `${r.speedup.toFixed(2)}×`), h('td', {}, fmt(r.dxDifference, 2)),
      h('td', {}, fmt(r.cpuGraphMs, 3)), h('td', {}, fmt(r.cpuAlternativeMs, 3)), h('td', {}, `${r.cpuSpeedup.toFixed(2)}×`))));
    const sorted = [...rows].sort((a, b) => a.n * a.d - b.n * b.d);
    chart.setData(sorted.map((r) => r.n * r.d), [sorted.map((r) => r.graphMs), sorted.map((r) => r.alternativeMs)]);
  };

  async function run(): Promise<void> {
    const s = form.read();
    const { gpu } = ctx;
    if (!gpu) throw new Error(`the benchmark needs WebGPU: ${ctx.gpuError}`);
    form.setDisabled(true);
    stopped = false;
    rows = [];
    render();
    const sizes = s.sizes as [number, number][];
    const reps = s.reps as number;
    try {
      for (const [i, [n, d]] of sizes.entries()) {
        await yieldToEventLoop();
        if (paused) await paused.promise;
        if (stopped) return;
        control.setDetail(`${n} × ${d}: timing both variants (${reps} passes each)`);
        const rng = makeRng(i + 1);
        const x = rng.randnTensor([n, d], 5, 12);
        const gamma = rng.randnTensor([d]).data;
        const beta = rng.randnTensor([d]).data;
        const dout = rng.randnTensor([n, d]);
        const scope = createScope(gpu);
        try {
          const buf = (data: ArrayLike<number> | number, label: string) => scope.createTensorBuffer(typeof data === 'number' ? data : Float32Array.from(data), label);
          const xb = buf(x.data, 'x');
          const gb = buf(gamma, 'gamma');
          const saved = { mean: buf(d * 4, 'mean'), invStd: buf(d * 4, 'invStd'), xhat: buf(n * d * 4, 'xhat') };
          const fwd = await createBatchNormForward(scope, {
            x: xb, gamma: gb, beta: buf(beta, 'beta'), out: buf(n * d * 4, 'out'), runningMean: buf(d * 4, 'rm'), runningVar: buf(d * 4, 'rv'),
            n, d, mode: 'train', saved,
          });
          await runDispatches(gpu, fwd, 'speedup forward');
          const common = { dout: buf(dout.data, 'dout'), xhat: saved.xhat, invStd: saved.invStd, gamma: gb, dgamma: buf(d * 4, 'dgamma'), dbeta: buf(d * 4, 'dbeta'), n, d };
          const dxGraph = buf(n * d * 4, 'dx graph');
          const dxAlt = buf(n * d * 4, 'dx alternative');
          const graph = await createBatchNormBackward(scope, { ...common, dx: dxGraph, variant: 'graph', x: xb, mean: saved.mean });
          const alternative = await createBatchNormBackward(scope, { ...common, dx: dxAlt, variant: 'alternative' });
          const tg = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, graph), { reps });
          await yieldToEventLoop();
          const ta = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, alternative), { reps });
          const diff = compare(await readF32(gpu, dxGraph, n * d), await readF32(gpu, dxAlt, n * d)).normRatio;
          // the seed's measurement: the two float64 functions on the CPU, timed around each call
          await yieldToEventLoop();
          const { cache } = forwardBatchNormalization(x, gamma, beta, { mode: 'train' });
          const cpuReps = Math.max(1, Math.min(reps, Math.floor(2e6 / (n * d))));
          const cg = timeCpu(() => backwardBatchNormalization(dout, cache), cpuReps);
          const ca = timeCpu(() => backwardBatchNormalizationAlternative(dout, cache), cpuReps);
          rows.push({
            n, d, timer: tg.kind, graphMs: tg.medianMs, alternativeMs: ta.medianMs, speedup: tg.medianMs / ta.medianMs,
            dxDifference: diff, cpuGraphMs: cg, cpuAlternativeMs: ca, cpuSpeedup: cg / ca,
          });
        } finally {
          scope.destroy();
        }
        render();
        control.setProgress(i + 1, sizes.length, 'sizes');
      }
      const seedRow = rows.find((r) => r.n === 100 && r.d === 500) ?? rows[0]!;
      const where = `${gpu.adapter.vendor || 'adapter'} / ${gpu.adapter.architecture || '?'}`;
      summary.textContent = `${seedRow.n} × ${seedRow.d}: the closed form is ${seedRow.speedup.toFixed(2)}× the speed of the graph on the GPU `
        + `(${fmt(seedRow.graphMs, 3)} ms vs ${fmt(seedRow.alternativeMs, 3)} ms per pass, ${seedRow.timer}, ${where}); `
        + `float64 CPU reference: ${seedRow.cpuSpeedup.toFixed(2)}×`;
      control.setDetail('');
      lastRun = { experiment: 'speedup', settings: { sizes: sizes.map(([n, d]) => `${n}x${d}`), reps }, adapter: adapterRecord(ctx), rows };
    } finally {
      form.setDisabled(false);
    }
  }

  const panel: Panel = {
    name: 'speedup',
    control,
    chartIds: ['speedup-time'],
    results: () => lastRun,
    csvRows: () => rows.map((r) => ({ ...r })),
  };
  createDownloads(root, panel, 'speedup');
  return panel;
}
