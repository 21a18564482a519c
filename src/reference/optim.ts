// The four update rules of the seed (cs231n `optim.py`), simplest first; each returns new weights and its config with state.
//
// Every rule has the signature `rule(w, dw, config?) -> { nextW, config }`: the input config may omit
// any key (defaults fill it), an unknown key is an error, and the returned config is a new object
// holding the updated state (velocity, cache, m, v, t), to be passed back in on the next step.
// Neither `w` nor the input state arrays are modified.

/** Vanilla SGD. */
export interface SgdConfig {
  learningRate: number;
}
/** SGD with momentum; `velocity` has w's length. */
export interface SgdMomentumConfig {
  learningRate: number;
  momentum: number;
  velocity: Float64Array;
}
/** RMSProp; `cache` is the moving average of squared gradients. */
export interface RmspropConfig {
  learningRate: number;
  decayRate: number;
  epsilon: number;
  cache: Float64Array;
}
/** Adam; `m`, `v` are the first and second moment estimates, `t` the number of steps taken. */
export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  m: Float64Array;
  v: Float64Array;
  t: number;
}

/** What a rule returns: the new weights and the config to pass to the next step. */
export interface Step<C> {
  nextW: Float64Array;
  config: C;
}

/** Any rule's config, as returned. */
export type OptimConfig = SgdConfig | SgdMomentumConfig | RmspropConfig | AdamConfig;
/** Any rule's input config: every key of every rule is allowed by the type; the rule rejects the ones it lacks. */
export type OptimConfigInput = Partial<SgdConfig & SgdMomentumConfig & RmspropConfig & AdamConfig>;
/** An update rule as `getUpdateRule` returns it. */
export type UpdateRule = (w: Float64Array, dw: Float64Array, config?: OptimConfigInput) => Step<OptimConfig>;

/** The per-parameter hook shared by every rule: checks lengths and keys, fills defaults, copies the config. */
function withDefaults<C extends object>(rule: string, w: Float64Array, dw: Float64Array, defaults: C, config: Partial<C> = {}): C {
  if (dw.length !== w.length) throw new Error(`${rule}: dw has ${dw.length} elements, w has ${w.length}`);
  const defs = defaults as Record<string, unknown>;
  const out = { ...defs };
  for (const [key, value] of Object.entries(config)) {
    if (!Object.hasOwn(defs, key)) {
      throw new Error(`${rule}: unknown config key "${key}" (expected one of ${Object.keys(defs).join(', ')})`);
    }
    if (value === undefined) continue;
    const def = defs[key];
    if (def instanceof Float64Array ? !(value instanceof Float64Array && value.length === w.length) : typeof value !== 'number') {
      throw new Error(
        `${rule}: config.${key} must be ${def instanceof Float64Array ? `a Float64Array of length ${w.length}` : 'a number'}`,
      );
    }
    out[key] = value;
  }
  return out as C;
}

/**
 * Vanilla SGD: `w -= learningRate * dw`. Defaults: learningRate 1e-2.
 * @example
 *   const { nextW } = sgd(Float64Array.of(1, 2), Float64Array.of(10, -10), { learningRate: 0.1 });
 *   nextW; // [0, 3]
 */
export function sgd(w: Float64Array, dw: Float64Array, config?: Partial<SgdConfig>): Step<SgdConfig> {
  const c = withDefaults('sgd', w, dw, { learningRate: 1e-2 }, config);
  return { nextW: w.map((x, i) => x - c.learningRate * dw[i]), config: c };
}

/**
 * SGD with momentum (cs231n form): `v = momentum * v - learningRate * dw; w += v`.
 * Defaults: learningRate 1e-2, momentum 0.9, velocity zeros.
 * @example
 *   let { nextW, config } = sgdMomentum(w, dw, { learningRate: 1e-3 });
 *   ({ nextW, config } = sgdMomentum(nextW, dw2, config)); // velocity carried over
 */
export function sgdMomentum(w: Float64Array, dw: Float64Array, config?: Partial<SgdMomentumConfig>): Step<SgdMomentumConfig> {
  const defaults = { learningRate: 1e-2, momentum: 0.9, velocity: new Float64Array(w.length) };
  const c = withDefaults('sgdMomentum', w, dw, defaults, config);
  const velocity = c.velocity.map((v, i) => c.momentum * v - c.learningRate * dw[i]);
  return { nextW: w.map((x, i) => x + velocity[i]), config: { ...c, velocity } };
}

/**
 * RMSProp (Hinton, Coursera lecture 6e): `cache = decayRate * cache + (1 - decayRate) * dw^2;
 * w -= learningRate * dw / (sqrt(cache) + epsilon)`. Defaults: learningRate 1e-2, decayRate 0.99,
 * epsilon 1e-8, cache zeros.
 * @example
 *   let { nextW, config } = rmsprop(w, dw);
 *   ({ nextW, config } = rmsprop(nextW, dw2, config)); // cache carried over
 */
export function rmsprop(w: Float64Array, dw: Float64Array, config?: Partial<RmspropConfig>): Step<RmspropConfig> {
  const defaults = { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8, cache: new Float64Array(w.length) };
  const c = withDefaults('rmsprop', w, dw, defaults, config);
  const cache = c.cache.map((s, i) => c.decayRate * s + (1 - c.decayRate) * dw[i] * dw[i]);
  const nextW = w.map((x, i) => x - (c.learningRate * dw[i]) / (Math.sqrt(cache[i]) + c.epsilon));
  return { nextW, config: { ...c, cache } };
}

/**
 * Adam, Algorithm 1 of Kingma & Ba, "Adam: A Method for Stochastic Optimization" (arXiv 1412.6980):
 * `t` is incremented FIRST, then `m = beta1 m + (1-beta1) dw`, `v = beta2 v + (1-beta2) dw^2`, and
 * `w -= learningRate * (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + epsilon)` with the new t.
 * Defaults: learningRate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8, m and v zeros, t 0.
 * @example
 *   let { nextW, config } = adam(w, dw, { learningRate: 1e-3 }); // config.t === 1
 *   ({ nextW, config } = adam(nextW, dw2, config));              // config.t === 2
 */
export function adam(w: Float64Array, dw: Float64Array, config?: Partial<AdamConfig>): Step<AdamConfig> {
  const c = withDefaults(
    'adam',
    w,
    dw,
    {
      learningRate: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      m: new Float64Array(w.length),
      v: new Float64Array(w.length),
      t: 0,
    },
    config,
  );
  const t = c.t + 1;
  const m = c.m.map((mi, i) => c.beta1 * mi + (1 - c.beta1) * dw[i]);
  const v = c.v.map((vi, i) => c.beta2 * vi + (1 - c.beta2) * dw[i] * dw[i]);
  const mCorrection = 1 - c.beta1 ** t;
  const vCorrection = 1 - c.beta2 ** t;
  const nextW = w.map((x, i) => x - (c.learningRate * (m[i] / mCorrection)) / (Math.sqrt(v[i] / vCorrection) + c.epsilon));
  return { nextW, config: { ...c, m, v, t } };
}

/**
 * The rules under the seed's names, for `Solver({ updateRule: 'adam' })`.
 * @example
 *   const { nextW, config } = updateRules.sgd_momentum(w, dw, { learningRate: 1e-3 });
 *   Object.keys(updateRules); // ['sgd', 'sgd_momentum', 'rmsprop', 'adam']
 */
export const updateRules = { sgd, sgd_momentum: sgdMomentum, rmsprop, adam } satisfies Record<string, UpdateRule>;

/** A seed name of an update rule. */
export type UpdateRuleName = keyof typeof updateRules;

/**
 * The update rule called `name` (a seed name); any other name is an error listing the valid ones.
 * @example
 *   const step = getUpdateRule('adam');
 *   getUpdateRule('adagrad'); // Error: unknown update rule "adagrad" (expected one of sgd, sgd_momentum, rmsprop, adam)
 */
export function getUpdateRule(name: string): UpdateRule {
  if (!Object.hasOwn(updateRules, name)) {
    throw new Error(`unknown update rule "${name}" (expected one of ${Object.keys(updateRules).join(', ')})`);
  }
  return updateRules[name as UpdateRuleName];
}
