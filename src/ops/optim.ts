// The four update rules on the GPU (shaders/optim.wgsl), simplest first: one dispatch per parameter, one shared hyperparameter uniform.
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { createBindGroup, getKernel, makeUniformData, type Kernel, scalarVariant } from '../gpu/kernel.ts';
import { gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';

export type OptimizerRule = 'sgd' | 'sgd_momentum' | 'rmsprop' | 'adam';

/** One parameter to update in place: w -= f(dw), `count` f32 each. */
export interface OptimizerParam {
  name: string;
  w: GPUBuffer;
  dw: GPUBuffer;
  count: number;
}

/** A built optimizer: replay `dispatches` every step after the backward pass, calling `beginStep()` before each submit. */
export interface Optimizer {
  rule: OptimizerRule;
  /** One per parameter, in the order given. */
  dispatches: Dispatch[];
  /** The rule's hyperparameters with defaults filled in (camelCase); Adam's `t` counts the steps begun. */
  config: Record<string, number>;
  /** Once per step, before submit: Adam's t += 1 and bias corrections (f64 on the host); one queue.writeBuffer. */
  beginStep(): void;
  /** New learning rate, used from the next `beginStep()` (the Solver's lrDecay). */
  setLearningRate(lr: number): void;
  /** Zero-initialised state per parameter (params order): velocity (sgd_momentum), cache (rmsprop), m and v (adam). */
  state: Record<string, GPUBuffer[]>;
}

/** cs231n optim.py defaults, camelCase; the keys each rule accepts. */
const defaults: Record<OptimizerRule, Record<string, number>> = {
  sgd: { learningRate: 1e-2 },
  sgd_momentum: { learningRate: 1e-2, momentum: 0.9 },
  rmsprop: { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8 },
  adam: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, t: 0 },
};

/** State buffers of each rule, bound as s1, s2 in the shader. */
const stateNames: Record<OptimizerRule, string[]> = { sgd: [], sgd_momentum: ['velocity'], rmsprop: ['cache'], adam: ['m', 'v'] };

/** Workgroup size, and about how many elements (vec4s or f32s) each invocation takes. */
const wg = 64;
const perInvocation = 8;

/** optim.wgsl with f32 elements, for a parameter whose length is not a multiple of 4 (WGSL has no type overrides). */
const optimScalarWgsl = scalarVariant(optimWgsl, 'shaders/optim.wgsl');

/**
 * The rule's kernel for a parameter of `count` f32: vec4 elements when count is a multiple of 4, else f32; and its length in those.
 *   const { kernel, length } = await optimKernel(scope, 'adam', 307200); // vec4 kernel, length 76800
 *   gridFor(length, 64 * 8);
 */
async function optimKernel(scope: GpuScope, rule: OptimizerRule, count: number): Promise<{ kernel: Kernel; length: number }> {
  const vec4 = count % 4 === 0;
  const kernel = await getKernel(scope.ctx, { name: 'optim', source: vec4 ? optimWgsl : optimScalarWgsl, entryPoint: rule, constants: { WG: wg } });
  return { kernel, length: vec4 ? count / 4 : count };
}

/** The hyperparameter uniform's fields for the step numbered `t` (Adam's corrections 1/(1-beta^t), in f64). */
function hyperValues(c: Record<string, number>, t: number): Record<string, number> {
  const beta1 = c.beta1 ?? 0;
  const beta2 = c.beta2 ?? 0;
  const decayRate = c.decayRate ?? 0;
  return {
    learningRate: c.learningRate!, momentum: c.momentum ?? 0, decayRate, beta1, beta2, epsilon: c.epsilon ?? 0,
    oneMinusDecayRate: 1 - decayRate, oneMinusBeta1: 1 - beta1, oneMinusBeta2: 1 - beta2,
    mCorrection: 1 / (1 - beta1 ** t), vCorrection: 1 / (1 - beta2 ** t),
  };
}

/**
 * Build an update rule over `params`: sgd, sgd_momentum, rmsprop or adam, cs231n semantics and defaults.
 * An unknown rule or config key is an error naming it.
 *   const opt = await createOptimizer(scope, 'adam', { learningRate: 1e-3 }, [{ name: 'W1', w: W1, dw: dW1, count: 3072 * 100 }]);
 *   opt.beginStep(); await runDispatches(gpu, [...forwardBackward, ...opt.dispatches]);
 */
export async function createOptimizer(scope: GpuScope, rule: OptimizerRule, config: object, params: OptimizerParam[]): Promise<Optimizer> {
  if (!Object.hasOwn(defaults, rule)) {
    throw new Error(`createOptimizer: unknown update rule "${String(rule)}" (expected one of ${Object.keys(defaults).join(', ')})`);
  }
  const c: Record<string, number> = { ...defaults[rule] };
  for (const [key, value] of Object.entries(config)) {
    if (!Object.hasOwn(c, key)) throw new Error(`createOptimizer(${rule}): unknown config key "${key}" (expected one of ${Object.keys(c).join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`createOptimizer(${rule}): config.${key} must be a finite number, got ${String(value)}`);
    c[key] = value;
  }
  if (rule === 'adam') assertCount(`createOptimizer(${rule})`, 'config.t', c.t!, 0);
  const names = new Set<string>();
  for (const p of params) {
    const op = `optimizer ${rule} ${p.name}`;
    if (names.has(p.name)) throw new Error(`createOptimizer(${rule}): parameter name "${p.name}" appears twice`);
    names.add(p.name);
    assertCount(op, 'count', p.count);
    assertBuffer(op, 'w', p.w, p.count);
    assertBuffer(op, 'dw', p.dw, p.count);
  }
  const kernels = await Promise.all(params.map((p) => optimKernel(scope, rule, p.count)));
  const { kernel } = kernels[0] ?? await optimKernel(scope, rule, 4);
  // The uniform starts as the first step's, so a step that forgot beginStep() still updates sensibly.
  const hyper = scope.createUniformBuffer(kernel, 'hyper', hyperValues(c, (c.t ?? 0) + 1), `optimizer ${rule} hyper`);
  const state: Record<string, GPUBuffer[]> = Object.fromEntries(stateNames[rule].map((s) => [s, [] as GPUBuffer[]]));
  const dispatches = params.map((p, k): Dispatch => {
    const { kernel, length } = kernels[k]!;
    const resources: Record<string, GPUBuffer> = { w: p.w, dw: p.dw, hyper };
    resources.shape = scope.createUniformBuffer(kernel, 'shape', { count: length }, `optimizer ${rule} ${p.name} shape`);
    stateNames[rule].forEach((s, j) => {
      const buffer = scope.createTensorBuffer(p.count * 4, `optimizer ${rule} ${p.name} ${s}`);
      state[s]!.push(buffer);
      resources[j === 0 ? 's1' : 's2'] = buffer;
    });
    return {
      kernel, bindGroup: createBindGroup(scope.ctx, kernel, resources), workgroups: gridFor(length, wg * perInvocation),
      label: `optimizer ${rule} ${p.name} count=${p.count}${length === p.count ? '' : ' (vec4)'}`,
    };
  });
  return {
    rule,
    dispatches,
    config: c,
    state,
    beginStep() {
      if (rule === 'adam') c.t! += 1;
      scope.ctx.device.queue.writeBuffer(hyper, 0, makeUniformData(kernel, 'hyper', hyperValues(c, c.t ?? 1)));
    },
    setLearningRate(lr: number) {
      if (!Number.isFinite(lr)) throw new Error(`optimizer ${rule}: learning rate must be a finite number, got ${lr}`);
      c.learningRate = lr;
    },
  };
}
