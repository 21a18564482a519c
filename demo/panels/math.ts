// The math panel: the normalization kernels' WGSL beside the formulas, and readings of the sweep's and the batch-size runs' curves.
import { fmt, h } from '../dom.ts';
import type { TrainRecord } from '../train.ts';

const shaders = import.meta.glob(['../../shaders/batchnorm-*.wgsl', '../../shaders/layernorm.wgsl', '../../shaders/row-sum*.wgsl'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** The kernels shown beside each question, by file and entry point. */
const kernelsOf: Record<string, [string, string[]][]> = {
  forward: [['batchnorm-forward.wgsl', ['stats', 'normalize', 'normalizeTest']]],
  backward: [
    ['batchnorm-backward.wgsl', ['sumDoutXhat']],
    ['batchnorm-backward-alternative.wgsl', ['dxAlternative']],
    ['batchnorm-backward-graph.wgsl', ['dxhatNode', 'dvarNode', 'dmuNode', 'dxNode']],
  ],
  batchsize: [['batchnorm-forward.wgsl', ['trainColumns']]],
  layernorm: [
    ['layernorm.wgsl', ['forward', 'backward']],
    ['row-sum-subgroups.wgsl', ['rowSum']],
    ['batchnorm-backward.wgsl', ['sumsColumns']],
  ],
};

/**
 * The source of WGSL function `name` with the comment and attribute lines just above it, or null.
 *   extractWgslFunction(src, 'normalize'); // "// Grid ...\n@compute @workgroup_size(WG)\nfn normalize(...) { ... }"
 */
export function extractWgslFunction(source: string, name: string): string | null {
  const lines = source.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*fn\\s+${name}\\s*\\(`).test(l));
  if (at < 0) return null;
  let start = at;
  while (start > 0 && /^\s*(\/\/|@)/.test(lines[start - 1]!)) start--;
  let depth = 0;
  let seen = false;
  for (let i = at; i < lines.length; i++) {
    for (const ch of lines[i]!) {
      if (ch === '{') {
        depth++;
        seen = true;
      } else if (ch === '}') depth--;
    }
    if (seen && depth === 0) return lines.slice(start, i + 1).join('\n');
  }
  return lines.slice(start).join('\n');
}

/**
 * Fill each `[data-kernels]` box with the kernels of its question (collapsed, one per entry point).
 *   showKernels(document.querySelector('#math')!);
 *   document.querySelectorAll('[data-kernels] details').length; // one per entry point shown
 */
export function showKernels(root: ParentNode): void {
  for (const box of root.querySelectorAll<HTMLElement>('[data-kernels]')) {
    const list = kernelsOf[box.dataset.kernels!] ?? [];
    box.append(h('div', { class: 'kernels-title' }, 'The kernels that compute it'));
    for (const [file, names] of list) {
      const src = Object.entries(shaders).find(([p]) => p.endsWith(`/${file}`))?.[1];
      for (const name of names) {
        const code = src ? extractWgslFunction(src, name) : null;
        const d = h(
          'details',
          { 'data-testid': `kernel-${name}` },
          h('summary', {}, h('code', {}, `${file}: ${name}`)),
          h('pre', {}, h('code', {}, code ?? `(${name} not found in shaders/${file})`)),
        );
        if (name === names[0]) d.open = true;
        box.append(d);
      }
    }
  }
}

/** One weight scale's runs as the sweep panel publishes them. */
export interface SweepPoint {
  weightScale: number;
  runs: Partial<Record<'baseline' | 'batchnorm', TrainRecord>>;
}

const range = (v: number[]) => (v.length ? `${fmt(Math.min(...v), 3)}–${fmt(Math.max(...v), 3)}` : '–');
const scaleList = (s: number[]) => (s.length ? s.map((x) => x.toExponential(1)).join(', ') : 'none');

/**
 * A plain-words reading of a sweep: accuracy ranges per model, where each stays near chance, where runs diverged.
 *   describeSweep(points, 'SwiftShader'); // "Across 20 scales from 1.0e-4 to 1.0e+0 ..."
 */
export function describeSweep(points: SweepPoint[], adapter: string): string {
  const done = points.filter((p) => p.runs.baseline && p.runs.batchnorm);
  if (done.length === 0) return 'Run experiment 2 on this page and this paragraph reads its curves.';
  const get = (l: 'baseline' | 'batchnorm', f: (t: TrainRecord) => number) => done.map((p) => f(p.runs[l]!));
  const chance = 0.15;
  const stuck = (l: 'baseline' | 'batchnorm') => done.filter((p) => p.runs[l]!.bestValAcc <= chance).map((p) => p.weightScale);
  const diverged = (l: 'baseline' | 'batchnorm') => done.filter((p) => p.runs[l]!.status === 'diverged').map((p) => p.weightScale);
  const better = done.filter((p) => p.runs.batchnorm!.bestValAcc > p.runs.baseline!.bestValAcc).length;
  return (
    `This page's sweep (${done.length} scales, ${done[0]!.weightScale.toExponential(1)} to ${done[done.length - 1]!.weightScale.toExponential(1)}, ${adapter}): ` +
    `best validation accuracy ${range(get('batchnorm', (t) => t.bestValAcc))} with batchnorm, ${range(get('baseline', (t) => t.bestValAcc))} without; ` +
    `batchnorm is ahead at ${better} of ${done.length} scales. ` +
    `Near chance (best val ≤ ${chance}): baseline at ${scaleList(stuck('baseline'))}; batchnorm at ${scaleList(stuck('batchnorm'))}. ` +
    `Diverged: baseline at ${scaleList(diverged('baseline'))}; batchnorm at ${scaleList(diverged('batchnorm'))}. ` +
    `Final training loss ${range(get('batchnorm', (t) => t.finalLoss).filter(Number.isFinite))} with batchnorm, ` +
    `${range(get('baseline', (t) => t.finalLoss).filter(Number.isFinite))} without.`
  );
}

/**
 * A plain-words reading of the batch-size runs: best validation and training accuracy per run, and how far apart
 * the batch sizes end for each normalization.
 *   describeBatchSize(records, 'SwiftShader'); // "This page's run (...): baseline, batch 5: best val 0.30 ..."
 */
export function describeBatchSize(records: TrainRecord[], adapter: string): string {
  if (records.length === 0) return 'Run the batch-size experiments on this page and this paragraph reads their curves.';
  const line = (r: TrainRecord) =>
    `${r.label}: best val ${fmt(r.bestValAcc, 3)}, best train ${fmt(r.bestTrainAcc, 3)}${r.status === 'completed' ? '' : ` (${r.status})`}`;
  const spread = (n: 'batchnorm' | 'layernorm') => {
    const rs = records.filter((r) => r.normalization === n);
    if (rs.length < 2) return '';
    const of = (f: (r: TrainRecord) => number) => Math.max(...rs.map(f)) - Math.min(...rs.map(f));
    return ` ${n === 'batchnorm' ? 'Batchnorm' : 'Layer norm'} across batch sizes ${rs.map((r) => r.batchSize).join(', ')}: best val accuracies span ${fmt(
      of((r) => r.bestValAcc),
      3,
    )}, best train ${fmt(
      of((r) => r.bestTrainAcc),
      3,
    )}.`;
  };
  return `This page's run (${adapter}): ${records.map(line).join('; ')}.${spread('batchnorm')}${spread('layernorm')}`;
}
