// The options of the seed's FullyConnectedNeuralNet (float64 and GPU alike): their types and their checks.

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
  /** Seed of the RNG that draws W1, W2, ..., WL in that order; default 0. */
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
