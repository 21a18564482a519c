// The options of the seed's FullyConnectedNeuralNet (float64 and GPU alike): their types, their checks and what they resolve to.

/** Constructor options, the seed's keyword arguments in camelCase; an unknown key is an error. */
export interface FullyConnectedNeuralNetOptions {
  /** Features per example (after flattening); default 3072 (CIFAR-10's 3x32x32). */
  inputDim?: number;
  /** Default 10. */
  numClasses?: number;
  /**
   * What sits before every ReLU (never on the output layer), as cs231n names it: 'batchnorm', 'layernorm' or
   * null (none, the default). Both have params gamma1.. and beta1..; only batchnorm keeps running statistics.
   */
  normalization?: Normalization;
  /** The seed's flag, an alias: `useBatchnorm: true` is `normalization: 'batchnorm'`. */
  useBatchnorm?: boolean;
  /** L2 strength: the loss adds `0.5 * reg * sum(W^2)` over every W; default 0. */
  reg?: number;
  /** Weights start as `weightScale * randn`; default 1e-2. */
  weightScale?: number;
  /**
   * The key of the counter-based generator (Philox4x32-10, src/reference/philox.ts) that draws W1..WL, each layer its
   * own stream: the same seed gives the same weights on the GPU and in float64 (to f32 rounding); any safe integer, default 0.
   */
  seed?: number;
  /** Which batchnorm backward to use: the staged graph (default) or the closed form. */
  backwardVariant?: 'graph' | 'alternative';
  /** The hidden layers' nonlinearity: 'relu' (the seed's, default) or 'gelu' (tanh form, layers.ts `geluForward`). */
  activation?: Activation;
}

/** The hidden layers' nonlinearity. */
export type Activation = 'relu' | 'gelu';

/** The normalization layer before each ReLU, or null for none. */
export type Normalization = 'batchnorm' | 'layernorm' | null;

/**
 * The normalization that `normalization` and its alias `useBatchnorm` ask for together; an error when they disagree.
 *   resolveNormalization({ useBatchnorm: true });             // 'batchnorm'
 *   resolveNormalization({ normalization: 'layernorm' });     // 'layernorm'
 */
export function resolveNormalization(
  options: { normalization?: Normalization; useBatchnorm?: boolean },
  fn = 'FullyConnectedNeuralNet',
): Normalization {
  const { normalization, useBatchnorm } = options;
  if (normalization !== undefined && normalization !== null && normalization !== 'batchnorm' && normalization !== 'layernorm') {
    throw new Error(`${fn}: normalization must be "batchnorm", "layernorm" or null, got ${JSON.stringify(normalization)}`);
  }
  if (useBatchnorm !== undefined && typeof useBatchnorm !== 'boolean')
    throw new Error(`${fn}: useBatchnorm must be true or false, got ${JSON.stringify(useBatchnorm)}`);
  const fromFlag: Normalization | undefined = useBatchnorm === undefined ? undefined : useBatchnorm ? 'batchnorm' : null;
  if (normalization !== undefined && fromFlag !== undefined && (normalization === 'batchnorm') !== useBatchnorm) {
    throw new Error(
      `${fn}: useBatchnorm ${useBatchnorm} contradicts normalization ${JSON.stringify(normalization)} (useBatchnorm is an alias; give one)`,
    );
  }
  return normalization ?? fromFlag ?? null;
}

/** Every option key the constructor takes. */
export const OPTION_KEYS = [
  'inputDim',
  'numClasses',
  'normalization',
  'useBatchnorm',
  'reg',
  'weightScale',
  'seed',
  'backwardVariant',
  'activation',
];

/** The options of one net, checked and with their defaults, and its layer sizes [inputDim, ...hiddenDims, numClasses]. */
export interface ResolvedNetOptions {
  dims: number[];
  normalization: Normalization;
  activation: Activation;
  backwardVariant: 'graph' | 'alternative';
  reg: number;
  weightScale: number;
  seed: number;
}

/**
 * Check a net's layer sizes and options (an unknown key, a size that is not a positive integer, a negative reg, ... are
 * errors naming it) and fill in the defaults; the float64 and the GPU nets start from this.
 *   resolveNetOptions([100], { useBatchnorm: true }).dims; // [3072, 100, 10]
 *   resolveNetOptions([100], { seed: 0.5 });               // Error: FullyConnectedNeuralNet: seed must be a safe integer, got 0.5
 */
export function resolveNetOptions(
  hiddenDims: readonly number[],
  options: FullyConnectedNeuralNetOptions,
  fn = 'FullyConnectedNeuralNet',
): ResolvedNetOptions {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new Error(`${fn}: unknown option "${key}" (expected one of ${OPTION_KEYS.join(', ')})`);
  }
  const { inputDim = 3072, numClasses = 10, reg = 0, weightScale = 1e-2, seed = 0 } = options;
  const normalization = resolveNormalization(options, fn);
  const { backwardVariant = 'graph', activation = 'relu' } = options;
  if (!Array.isArray(hiddenDims)) throw new Error(`${fn}: hiddenDims must be an array of layer sizes, got ${JSON.stringify(hiddenDims)}`);
  const dims = [inputDim, ...hiddenDims, numClasses];
  if (!dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${fn}: layer sizes must be positive integers, got ${JSON.stringify(dims)}`);
  }
  for (const [name, v] of Object.entries({ reg, weightScale })) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`${fn}: ${name} must be a finite number >= 0, got ${v}`);
  }
  if (!Number.isSafeInteger(seed)) throw new Error(`${fn}: seed must be a safe integer, got ${seed}`);
  if (backwardVariant !== 'graph' && backwardVariant !== 'alternative') {
    throw new Error(`${fn}: backwardVariant must be "graph" or "alternative", got "${backwardVariant}"`);
  }
  if (activation !== 'relu' && activation !== 'gelu')
    throw new Error(`${fn}: activation must be "relu" or "gelu", got ${JSON.stringify(activation)}`);
  return { dims, normalization, activation, backwardVariant, reg, weightScale, seed };
}

/** How a tensor of the net starts: drawn (`weightScale · normal`, from the layer's stream), zeros, or ones. */
export type TensorStart = 'normal' | 'zeros' | 'ones';

/**
 * Every tensor of a net with its shape and how it starts, in the order the nets name them (`namedTensors`):
 * W1..WL, b1..bL, gamma1, beta1, gamma2, ... (with a normalization), then runningMean1, runningVar1, ... (batchnorm).
 *   makeNetTensors({ dims: [5, 4, 2], normalization: null }); // W1 [5,4] normal, W2 [4,2] normal, b1 [4] zeros, b2 [2] zeros
 *   makeNetTensors({ dims: [5, 4, 2], normalization: 'batchnorm' }).at(-1); // { name: 'runningVar1', shape: [4], start: 'zeros', layer: 1 }
 */
export function makeNetTensors(
  o: Pick<ResolvedNetOptions, 'dims' | 'normalization'>,
): { name: string; shape: number[]; start: TensorStart; layer: number }[] {
  const L = o.dims.length - 1;
  const layers = Array.from({ length: L }, (_, i) => i + 1);
  const hidden = layers.slice(0, -1);
  const vector = (name: string, l: number, start: TensorStart) => ({ name: `${name}${l}`, shape: [o.dims[l]!], start, layer: l });
  return [
    ...layers.map((l) => ({ name: `W${l}`, shape: [o.dims[l - 1]!, o.dims[l]!], start: 'normal' as const, layer: l })),
    ...layers.map((l) => vector('b', l, 'zeros')),
    ...(o.normalization === null ? [] : hidden.flatMap((l) => [vector('gamma', l, 'ones'), vector('beta', l, 'zeros')])),
    ...(o.normalization === 'batchnorm'
      ? hidden.flatMap((l) => [vector('runningMean', l, 'zeros'), vector('runningVar', l, 'zeros')])
      : []),
  ];
}
