// The update rules in one table, simplest first: names, cs231n optim.py defaults (camelCase), the per-parameter state each keeps.

export type OptimizerRule = 'sgd' | 'sgd_momentum' | 'rmsprop' | 'adam';

export interface UpdateRuleInfo {
  /** The config keys the rule accepts, with cs231n's defaults. */
  defaults: Record<string, number>;
  /** Per-parameter state, zero at the start (bound as s1, s2 in shaders/optim.wgsl). */
  slots: string[];
}

/** The one table of update rules: the Solver, the GPU optimizer and the docs read it. */
export const updateRules: Record<OptimizerRule, UpdateRuleInfo> = {
  sgd: { defaults: { learningRate: 1e-2 }, slots: [] },
  sgd_momentum: { defaults: { learningRate: 1e-2, momentum: 0.9 }, slots: ['velocity'] },
  rmsprop: { defaults: { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8 }, slots: ['cache'] },
  // Kingma & Ba, arXiv 1412.6980; t counts the steps begun and is incremented before the bias correction.
  adam: { defaults: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, t: 0 }, slots: ['m', 'v'] },
};

export const updateRuleNames = Object.keys(updateRules) as OptimizerRule[];

/**
 * Whether `name` is one of the update rules.
 *   isUpdateRule('adam');    // true
 *   isUpdateRule('adagrad'); // false
 */
export function isUpdateRule(name: string): name is OptimizerRule {
  return Object.hasOwn(updateRules, name);
}

/**
 * A rule's config with its defaults filled in; an unknown rule or key, or a non-finite value, is an error naming it.
 *   makeRuleConfig('adam', { learningRate: 1e-2 }, 'createOptimizer'); // { learningRate: 0.01, beta1: 0.9, ..., t: 0 }
 *   makeRuleConfig('sgd', { momentum: 0.9 }, 'createOptimizer');       // Error: ... unknown config key "momentum"
 */
export function makeRuleConfig(rule: string, config: object, where: string): Record<string, number> {
  if (!isUpdateRule(rule))
    throw new Error(`${where}: unknown update rule "${String(rule)}" (expected one of ${updateRuleNames.join(', ')})`);
  const c: Record<string, number> = { ...updateRules[rule].defaults };
  for (const [key, value] of Object.entries(config)) {
    if (!Object.hasOwn(c, key))
      throw new Error(`${where}(${rule}): unknown config key "${key}" (expected one of ${Object.keys(c).join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Error(`${where}(${rule}): config.${key} must be a finite number, got ${String(value)}`);
    c[key] = value;
  }
  if (rule === 'adam' && (!Number.isInteger(c.t) || c.t! < 0))
    throw new Error(`${where}(${rule}): config.t must be an integer >= 0, got ${c.t}`);
  return c;
}
