// The page's settings: one table of fields per panel, parsed from and written to the URL (a link reproduces a run).

import { formatField, parseField, type FieldSpec, type FieldValue } from './field-text.ts';

export { formatField, formatNumber, parseField, type FieldSpec, type FieldType, type FieldValue } from './field-text.ts';

/** The panels that run something, by the names the URL (`run=`) and the CLI use. */
export const panelNames = ['forward', 'batchnorm', 'sweep', 'batchsize', 'speedup'] as const;
export type PanelName = (typeof panelNames)[number];

/** URL prefix of each panel's fields (`b.epochs=2`). */
export const panelPrefix: Record<PanelName, string> = { forward: 'f', batchnorm: 'b', sweep: 's', batchsize: 'z', speedup: 'p' };

const training = (hidden: number[], extra: FieldSpec[] = []): FieldSpec[] => [
  { key: 'hidden', label: 'hidden layers', type: 'dims', default: hidden, help: 'sizes, e.g. 100x5 or 100,50' },
  { key: 'numTrain', label: 'training images', type: 'int', default: 1000, min: 1, max: 49000 },
  { key: 'numVal', label: 'validation images', type: 'int', default: 1000, min: 1, max: 1000 },
  { key: 'epochs', label: 'epochs', type: 'int', default: 10, min: 1, max: 1000 },
  { key: 'batchSize', label: 'batch size', type: 'int', default: 50, min: 1, max: 4096 },
  { key: 'updateRule', label: 'update rule', type: 'enum', default: 'adam', options: ['adam', 'rmsprop', 'sgd_momentum', 'sgd'] },
  { key: 'lr', label: 'learning rate', type: 'float', default: 1e-3, min: 0 },
  ...extra,
  { key: 'seed', label: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, help: 'initial weights and minibatches' },
];

/** Every panel's fields with the seed notebook's values as defaults. */
export const panelFields: Record<PanelName, FieldSpec[]> = {
  forward: [
    { key: 'n', label: 'N (rows)', type: 'int', default: 200, min: 2, max: 100000 },
    { key: 'd1', label: 'D1 (input)', type: 'int', default: 50, min: 1, max: 4096 },
    { key: 'd2', label: 'D2 (hidden)', type: 'int', default: 60, min: 1, max: 4096 },
    { key: 'd3', label: 'D3 (features normalized)', type: 'int', default: 3, min: 1, max: 4096 },
    { key: 'warmup', label: 'warm-up batches (test mode)', type: 'int', default: 50, min: 1, max: 10000 },
    { key: 'seed', label: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1 },
  ],
  batchnorm: training(
    [100, 100, 100, 100, 100],
    [
      { key: 'weightScale', label: 'weight scale', type: 'float', default: 2e-2, min: 0 },
      {
        key: 'activation',
        label: 'activation',
        type: 'enum',
        default: 'relu',
        options: ['relu', 'gelu'],
        help: "the hidden layers' nonlinearity: relu (the seed's) or gelu (tanh form)",
      },
    ],
  ),
  sweep: training(
    [50, 50, 50, 50, 50, 50, 50],
    [
      { key: 'numScales', label: 'weight scales', type: 'int', default: 20, min: 1, max: 200, help: 'logspace(from, to, num)' },
      { key: 'fromExp', label: 'from 10^', type: 'float', default: -4 },
      { key: 'toExp', label: 'to 10^', type: 'float', default: 0 },
      {
        key: 'training',
        label: 'training',
        type: 'enum',
        default: 'batched',
        options: ['batched', 'sequential'],
        help: 'batched: every scale of a network in one population on the GPU; sequential: one run after another',
      },
    ],
  ),
  // cs231n's run_batchsize_experiments: the baseline at batch 5, the normalized net at 5, 10 and 50, Adam at 10^-3.5.
  batchsize: [
    { key: 'hidden', label: 'hidden layers', type: 'dims', default: [100, 100, 100, 100, 100], help: 'sizes, e.g. 100x5 or 100,50' },
    { key: 'numTrain', label: 'training images', type: 'int', default: 1000, min: 1, max: 49000 },
    { key: 'numVal', label: 'validation images', type: 'int', default: 1000, min: 1, max: 1000 },
    { key: 'epochs', label: 'epochs', type: 'int', default: 10, min: 1, max: 1000 },
    {
      key: 'normalization',
      label: 'normalization',
      type: 'enum',
      default: 'both',
      options: ['both', 'batchnorm', 'layernorm'],
      help: 'both: the two experiments, one baseline',
    },
    { key: 'batchSizes', label: 'batch sizes (normalized)', type: 'dims', default: [5, 10, 50], max: 4096, help: 'e.g. 5,10,50' },
    { key: 'baselineBatch', label: 'batch size (baseline)', type: 'int', default: 5, min: 1, max: 4096 },
    { key: 'updateRule', label: 'update rule', type: 'enum', default: 'adam', options: ['adam', 'rmsprop', 'sgd_momentum', 'sgd'] },
    { key: 'lr', label: 'learning rate', type: 'float', default: 10 ** -3.5, min: 0 },
    { key: 'weightScale', label: 'weight scale', type: 'float', default: 2e-2, min: 0 },
    { key: 'seed', label: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, help: 'initial weights and minibatches' },
  ],
  speedup: [
    {
      key: 'sizes',
      label: 'sizes N×D',
      type: 'sizes',
      default: [
        [100, 500],
        [200, 500],
        [500, 500],
        [1000, 500],
        [100, 2000],
        [1000, 2000],
      ],
      help: 'e.g. 100x500, 1000x500',
    },
    { key: 'reps', label: 'timed repetitions', type: 'int', default: 20, min: 1, max: 1000 },
  ],
};

export type PanelSettings = Record<string, FieldValue>;

/** Everything a URL can say. */
export interface PageState {
  /** Panels that autorun starts, in order (`run=batchnorm,sweep`). */
  run: PanelName[];
  autorun: boolean;
  /** 'gpu' (the WebGPU network) or 'cpu' (the float64 reference) for the training panels. */
  model: 'gpu' | 'cpu';
  /** Base URL of the CIFAR-10 .bin files, when not the dev server's /data/cifar10/. */
  dataUrl: string | null;
  /** `loseGpuAt=N`: destroy the GPU device when a run reaches step N (once), to see the recovery; null: never. */
  loseGpuAt: number | null;
  panels: Record<PanelName, PanelSettings>;
}

/**
 * A panel's settings at their defaults (copies: editing them leaves the field table alone).
 *   defaultSettings('batchnorm').epochs; // the seed's 10
 *   defaultSettings('sweep').hidden;     // [50, 50, 50, 50, 50, 50, 50]
 */
export function defaultSettings(panel: PanelName): PanelSettings {
  return Object.fromEntries(panelFields[panel].map((f) => [f.key, structuredClone(f.default)]));
}

/**
 * The page state a query string describes; unknown or malformed parameters are reported, not ignored.
 *   const { state, errors } = readPageState('?run=batchnorm&autorun=1&b.epochs=2');
 *   state.panels.batchnorm.epochs; // 2
 */
export function readPageState(search: string): { state: PageState; errors: string[] } {
  const q = new URLSearchParams(search);
  const errors: string[] = [];
  const panels = Object.fromEntries(panelNames.map((p) => [p, defaultSettings(p)])) as Record<PanelName, PanelSettings>;
  const known = new Set(['run', 'autorun', 'model', 'data', 'loseGpuAt']);
  for (const p of panelNames) {
    for (const f of panelFields[p]) {
      const name = `${panelPrefix[p]}.${f.key}`;
      known.add(name);
      const text = q.get(name);
      if (text === null) continue;
      try {
        panels[p][f.key] = parseField(f, text);
      } catch (e) {
        errors.push(`URL ${name}: ${(e as Error).message}`);
      }
    }
  }
  for (const k of q.keys()) if (!known.has(k)) errors.push(`URL parameter "${k}" is not known (ignored)`);
  const run: PanelName[] = [];
  for (const r of (q.get('run') ?? 'batchnorm')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if ((panelNames as readonly string[]).includes(r)) run.push(r as PanelName);
    else errors.push(`URL run=${r}: not a panel (${panelNames.join(', ')})`);
  }
  const model = q.get('model') ?? 'gpu';
  if (model !== 'gpu' && model !== 'cpu') errors.push(`URL model=${model}: must be gpu or cpu`);
  const autorun = q.get('autorun');
  const lose = q.get('loseGpuAt');
  const loseGpuAt = lose === null ? null : Number(lose);
  if (loseGpuAt !== null && !(Number.isInteger(loseGpuAt) && loseGpuAt >= 1))
    errors.push(`URL loseGpuAt=${lose}: must be a step number >= 1`);
  return {
    state: {
      run,
      autorun: autorun === '1' || autorun === 'true',
      model: model === 'cpu' ? 'cpu' : 'gpu',
      dataUrl: q.get('data'),
      loseGpuAt: loseGpuAt !== null && Number.isInteger(loseGpuAt) && loseGpuAt >= 1 ? loseGpuAt : null,
      panels,
    },
    errors,
  };
}

/**
 * The query string for a state: `full` writes every field of the `run` panels (a link that survives changed
 * defaults), otherwise only the fields that differ from the defaults.
 *   writePageState(state, { full: true }); // "?run=batchnorm&b.hidden=100x5&..."
 */
export function writePageState(state: PageState, { full = false, autorun = state.autorun } = {}): string {
  const q = new URLSearchParams();
  q.set('run', state.run.join(','));
  if (autorun) q.set('autorun', '1');
  if (state.model !== 'gpu' || full) q.set('model', state.model);
  if (state.dataUrl) q.set('data', state.dataUrl);
  if (state.loseGpuAt !== null) q.set('loseGpuAt', String(state.loseGpuAt));
  for (const p of panelNames) {
    for (const f of panelFields[p]) {
      const text = formatField(f, state.panels[p][f.key]!);
      const include = full ? state.run.includes(p) : text !== formatField(f, f.default);
      if (include) q.set(`${panelPrefix[p]}.${f.key}`, text);
    }
  }
  return `?${q.toString().replace(/%2C/g, ',')}`;
}
