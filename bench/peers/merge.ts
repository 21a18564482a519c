// Peer figures into the bench report: the spec the PyTorch peer runs (built from our rows), and the merge that gives every row its peer fields and `vs` ratios.

export interface TorchSpec {
  reps: number;
  matmul?: { m: number; n: number; k: number; transA: boolean; transB: boolean }[];
  bn?: { n: number; d: number }[];
  training?: { hiddenDims: number[]; useBatchnorm: boolean; batch: number; steps: number }[];
  population?: { models: number; hiddenDims: number[]; useBatchnorm: boolean; batch: number; steps: number }[];
  /** The seed's sweep on the rows the bench wrote to `dataDir` (xtrain.u8, ytrain.u8, xval.u8, yval.u8, mean.f32). */
  sweep?: { scales: number[]; hiddenDims: number[]; batch: number; epochs: number; numTrainSamples: number; dataDir: string };
}

/** What bench/peers/torch-peer.py prints when torch runs. */
export interface TorchResult {
  name: string;
  device: 'cuda' | 'cpu';
  timer: string;
  matmul: { m: number; n: number; k: number; transA: boolean; transB: boolean; medianMs: number; minMs: number }[];
  bn: { n: number; d: number; medianMs: number; minMs: number }[];
  training: {
    hiddenDims: number[];
    useBatchnorm: boolean;
    batch: number;
    msPerStep: number;
    graphMsPerStep: number | null;
    adam: string;
  }[];
  population: { models: number; msPerStep: number; graphMsPerStep: number | null; buildMs: number; adam: string }[];
  /** The whole sweep, sequentially and batched (wall clock, checks included). */
  sweep?: { models: number; steps: number; epochs: number; sequentialMs: number; batchedMs: number; how: string };
}

/** A peer as the report names it: who ran and how it was timed, or in one line why it did not. */
export type PeerInfo = { name: string; timer: string; device?: string } | { reason: string };

type Row = Record<string, unknown>;
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);
const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
/** peer time / our time: above 1 we are faster. */
const ratio = (peer: unknown, ours: unknown) => (n(peer) !== null && n(ours) !== null ? n(peer)! / n(ours)! : null);
const key = (...xs: unknown[]) => JSON.stringify(xs);

/**
 * The workloads of `report` for the PyTorch peer: the same shapes and steps our rows ran.
 *   const spec = makeTorchSpec(report);
 *   spec.matmul?.length === report.matmul.length; // true
 */
export function makeTorchSpec(report: Record<string, unknown>, sweep?: Omit<NonNullable<TorchSpec['sweep']>, 'epochs'>): TorchSpec {
  const seen = new Set<string>();
  const ours = report.sweep as { epochs?: number } | undefined;
  return {
    ...(sweep && typeof ours === 'object' && ours !== null && typeof ours.epochs === 'number'
      ? { sweep: { ...sweep, epochs: ours.epochs } }
      : {}),
    reps: Number(report.reps ?? 10),
    matmul: rows(report.matmul).map(({ m, n, k, transA, transB }) => ({ m, n, k, transA, transB }) as NonNullable<TorchSpec['matmul']>[0]),
    bn: rows(report.bnBackward).map(({ n, d }) => ({ n, d }) as { n: number; d: number }),
    training: rows(report.training)
      .filter((r) => !seen.has(key(r.hiddenDims, r.useBatchnorm, r.batch)) && seen.add(key(r.hiddenDims, r.useBatchnorm, r.batch)))
      .map(
        ({ hiddenDims, useBatchnorm, batch, steps }) =>
          ({ hiddenDims, useBatchnorm, batch, steps }) as NonNullable<TorchSpec['training']>[0],
      ),
    population: rows(report.population).map(
      ({ models, hiddenDims, useBatchnorm, batch, steps }) =>
        ({ models, hiddenDims, useBatchnorm, batch, steps }) as NonNullable<TorchSpec['population']>[0],
    ),
  };
}

/**
 * Give every row of `report` its peer fields and `vs` ratios (peer time / our time; null where a peer did not run),
 * and `report.peers` naming each peer or why it could not run. Mutates and returns `report`.
 *   mergePeers(report, { tfjs: { reason: 'not asked for (--peers tfjs)' }, torch: await runTorchPeer('python3', makeTorchSpec(report)) });
 *   report.matmul[0].vsTorch; // e.g. 1.7: ours 1.7x faster
 */
export function mergePeers<R extends Record<string, unknown>>(
  report: R,
  peers: { tfjs: PeerInfo; torch: TorchResult | { reason: string } },
): R {
  const torch = 'reason' in peers.torch ? null : peers.torch;
  const t = torch ? { name: torch.name, timer: torch.timer, device: torch.device } : { reason: (peers.torch as { reason: string }).reason };
  (report as Row).peers = { tfjs: peers.tfjs, torch: t };
  for (const r of rows(report.matmul)) {
    const p = torch?.matmul.find((x) => key(x.m, x.n, x.k, x.transA, x.transB) === key(r.m, r.n, r.k, r.transA, r.transB));
    const flop = 2 * Number(r.m) * Number(r.n) * Number(r.k);
    r.torchMs = p?.medianMs ?? null;
    r.torchGflops = p ? flop / (p.medianMs * 1e6) : null;
    r.torchBestGflops = p ? flop / (p.minMs * 1e6) : null;
    r.vsTorch = ratio(r.torchMs, r.ms);
    r.vsTfjs = ratio(r.tfjsMs, r.ms);
  }
  for (const r of rows(report.bnBackward)) {
    const p = torch?.bn.find((x) => x.n === r.n && x.d === r.d);
    r.torchMs = p?.medianMs ?? null;
    r.torchGBps = p ? (12 * Number(r.n) * Number(r.d)) / (p.medianMs * 1e6) : null;
    r.vsTorch = ratio(r.torchMs, r.altMs);
  }
  for (const r of rows(report.training)) {
    const p = torch?.training.find((x) => key(x.hiddenDims, x.useBatchnorm, x.batch) === key(r.hiddenDims, r.useBatchnorm, r.batch));
    r.torchMsPerStep = p?.msPerStep ?? null;
    r.torchGraphMsPerStep = p?.graphMsPerStep ?? null;
    r.vsTorch = ratio(r.torchMsPerStep, r.msPerStep);
    r.vsTorchGraph = ratio(r.torchGraphMsPerStep, r.msPerStep);
    // TF.js has one way to train a net: a row of another backward variant of the same net shares its figure
    const same = rows(report.training).find(
      (x) => x.tfjsMsPerStep != null && key(x.hiddenDims, x.useBatchnorm, x.batch) === key(r.hiddenDims, r.useBatchnorm, r.batch),
    );
    r.tfjsMsPerStep ??= same?.tfjsMsPerStep ?? null;
    r.vsTfjs = ratio(r.tfjsMsPerStep, r.msPerStep);
  }
  const sw = report.sweep as Row | undefined;
  if (typeof sw === 'object' && sw !== null) {
    const p = torch?.sweep;
    sw.torchSequentialMs = p?.sequentialMs ?? null;
    sw.torchBatchedMs = p?.batchedMs ?? null;
    // the PyTorch notebook way (sequential) against our batched sweep, and each way against its twin
    sw.vsTorchSequential = ratio(sw.torchSequentialMs, sw.batchedMs);
    sw.vsTorchBatched = ratio(sw.torchBatchedMs, sw.batchedMs);
  }
  for (const r of rows(report.population)) {
    const p = torch?.population.find((x) => x.models === r.models);
    r.torchMsPerStep = p?.msPerStep ?? null;
    r.torchGraphMsPerStep = p?.graphMsPerStep ?? null;
    r.torchBuildMs = p?.buildMs ?? null;
    r.vsTorch = ratio(r.torchMsPerStep, r.msPerStep);
    r.vsTorchGraph = ratio(r.torchGraphMsPerStep, r.msPerStep);
  }
  return report;
}
