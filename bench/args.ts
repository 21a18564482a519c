// The bench's command line, shared by `npm run bench` (the page) and `npm run bench:node`: flags, their defaults, their errors.

export type PeerName = 'tfjs' | 'torch';

export interface BenchArgs {
  json: boolean;
  only: string | null;
  reps: number;
  detail: boolean;
  sweepEpochs: number | null;
  /** Peers to time beside ours (`--peers tfjs,torch`); none by default. */
  peers: PeerName[];
  /** The Python that runs the PyTorch peer (`--python PATH`). */
  python: string;
  /** `large` adds the GPU-sized shapes (matmul to 8192³, batchnorm to 65536x1024, wide nets, big populations). */
  sizes: 'default' | 'large';
  /** Run `--sizes large` even on a CPU adapter. */
  force: boolean;
  /** Dawn toggles for the Node runner (`--dawn-enable a,b`, `--dawn-disable c`). */
  dawnEnable: string[];
  dawnDisable: string[];
  /** Print the adapter (features, subgroup sizes, limits, toggles) as JSON and stop (`--adapter`). */
  adapterOnly: boolean;
  /** The population-profile section's sizes (`--models 20,100,1000`); null: its default. */
  models: number[] | null;
  /** The population profile plans for a GPU adapter class (`--gpu-plan`). */
  gpuPlan: boolean;
  /** The population profile counts without timing (`--counts-only`). */
  countsOnly: boolean;
}

const list = (v: string | null) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Parse the shared command-line flags (see BenchArgs), naming a bad value or an unknown flag.
 *   parseBenchArgs(['--only', 'matmul', '--json']).only; // 'matmul'
 *   parseBenchArgs(['--peers', 'torch', '--python', '/usr/bin/python3']).peers; // ['torch']
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? null) : null;
  };
  const reps = Number(value('--reps') ?? 10);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`bench: --reps must be a positive integer, got ${value('--reps')}`);
  const epochs = value('--sweep-epochs');
  const sweepEpochs = epochs === null ? null : Number(epochs);
  if (sweepEpochs !== null && (!Number.isInteger(sweepEpochs) || sweepEpochs < 1))
    throw new Error(`bench: --sweep-epochs must be a positive integer, got ${epochs}`);
  const peers = list(value('--peers'));
  const badPeer = peers.find((p) => p !== 'tfjs' && p !== 'torch');
  if (badPeer !== undefined) throw new Error(`bench: --peers knows tfjs and torch, got ${badPeer}`);
  const sizes = value('--sizes') ?? 'default';
  if (sizes !== 'default' && sizes !== 'large') throw new Error(`bench: --sizes must be default or large, got ${sizes}`);
  const models = value('--models') === null ? null : list(value('--models')).map(Number);
  if (models && (!models.length || !models.every((m) => Number.isInteger(m) && m >= 1)))
    throw new Error(`bench: --models must list positive integers, got ${value('--models')}`);
  const withValue = ['--only', '--reps', '--sweep-epochs', '--peers', '--python', '--sizes', '--dawn-enable', '--dawn-disable', '--models'];
  const known = new Set(['--json', '--detail', '--force', '--adapter', '--gpu-plan', '--counts-only', ...withValue]);
  argv.forEach((a, i) => {
    if (a.startsWith('--') && !known.has(a)) throw new Error(`bench: unknown flag ${a} (flags: ${[...known].join(', ')})`);
    if (!a.startsWith('--') && !withValue.includes(argv[i - 1] ?? '')) throw new Error(`bench: unexpected argument ${a}`);
  });
  withValue.forEach((f) => {
    if (argv.includes(f) && (value(f) === null || value(f)!.startsWith('--'))) throw new Error(`bench: ${f} needs a value`);
  });
  return {
    json: argv.includes('--json'),
    only: value('--only'),
    reps,
    detail: argv.includes('--detail'),
    sweepEpochs,
    peers: [...new Set(peers)] as PeerName[],
    python: value('--python') ?? 'python3',
    sizes,
    force: argv.includes('--force'),
    dawnEnable: list(value('--dawn-enable')),
    dawnDisable: list(value('--dawn-disable')),
    adapterOnly: argv.includes('--adapter'),
    models,
    gpuPlan: argv.includes('--gpu-plan'),
    countsOnly: argv.includes('--counts-only'),
  };
}
