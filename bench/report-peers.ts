// The readable side of the peers: the adapter's capabilities, who the peers were, and one side-by-side table of every row against them.
import type { BenchReport } from './report.ts';

type Row = Record<string, unknown>;
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);
const fix = (v: unknown, digits: number) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');
const times = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${v < 0.1 ? v.toPrecision(2) : v.toFixed(2)}x` : '-');

function table(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Lines for the adapter's capabilities, the peers, and the side-by-side table (ours, TF.js, PyTorch eager and CUDA graph,
 * `vs` = the peer's time over ours: above 1 we are faster). Empty peer lines when the report has no `peers`.
 *   console.log(formatSideBySide(report).join('\n'));
 *   formatSideBySide(report)[0]; // 'features: shader-f16, subgroups, timestamp-query; subgroup sizes 4..64; ...'
 */
export function formatSideBySide(r: BenchReport): string[] {
  const out: string[] = [];
  const d = r.adapter.detail;
  if (d) {
    out.push(
      '',
      `features: ${d.features.join(', ') || 'none'}; subgroup sizes ${d.subgroupMinSize}..${d.subgroupMaxSize}; subgroup-matrix configurations: ${d.subgroupMatrixConfigs.length ? JSON.stringify(d.subgroupMatrixConfigs) : 'none'}`,
      `limits: ${Object.entries(d.limits)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `Dawn toggles (every figure of this run): enable [${d.dawnToggles.enable.join(', ')}], disable [${d.dawnToggles.disable.join(', ')}]; sizes: ${r.sizes}`,
    );
  }
  const peers = r.peers as Record<string, { name?: string; timer?: string; reason?: string }> | undefined;
  if (!peers) return out;
  for (const [k, p] of Object.entries(peers)) out.push(`peer ${k}: ${p.reason ? `null: ${p.reason}` : `${p.name}, timed by ${p.timer}`}`);
  const body: string[][] = [];
  for (const f of rows(r.matmul))
    body.push([
      `matmul ${f.m}x${f.n}x${f.k} ${f.transA ? 'Aᵀ' : 'A'}·${f.transB ? 'Bᵀ' : 'B'} (GFLOPS)`,
      fix(f.gflops, 1),
      fix(f.tfjsGflops, 1),
      fix(f.torchGflops, 1),
      '-',
      times(f.vsTfjs),
      times(f.vsTorch),
    ]);
  for (const f of rows(r.bnBackward))
    body.push([`bn backward ${f.n}x${f.d}, alternative (ms)`, fix(f.altMs, 3), '-', fix(f.torchMs, 3), '-', '-', times(f.vsTorch)]);
  for (const f of rows(r.training))
    body.push([
      `step ${f.net} batch ${f.batch}${f.useBatchnorm ? `, ${f.backwardVariant}` : ''} (ms)`,
      fix(f.msPerStep, 2),
      fix(f.tfjsMsPerStep, 2),
      fix(f.torchMsPerStep, 2),
      fix(f.torchGraphMsPerStep, 2),
      times(f.vsTfjs),
      `${times(f.vsTorch)}${f.vsTorchGraph ? ` / ${times(f.vsTorchGraph)}` : ''}`,
    ]);
  for (const f of rows(r.population))
    body.push([
      `population of ${f.models} [50]x7 bn (ms/step; build ${fix(f.buildMs, 0)} ms)`,
      fix(f.msPerStep, 2),
      '-',
      fix(f.torchMsPerStep, 2),
      fix(f.torchGraphMsPerStep, 2),
      '-',
      `${times(f.vsTorch)}${f.vsTorchGraph ? ` / ${times(f.vsTorchGraph)}` : ''}`,
    ]);
  if (body.length) {
    out.push('', 'side by side (vs = peer time / ours: above 1 we are faster; PyTorch eager / CUDA graph)');
    out.push(table(['workload', 'ours', 'TF.js', 'PyTorch', 'PyTorch graph', 'vs TF.js', 'vs PyTorch'], body));
  }
  return out;
}
