// The seed's FullyConnectedNeuralNet in float64: {affine - [batchnorm | layernorm] - relu | gelu} x (L-1) - affine - softmax.
import { affineBackward, affineForward, geluBackward, geluForward, reluBackward, reluForward, softmaxLoss } from './layers.ts';
import type { AffineCache } from './layers.ts';
import { backwardBatchNormalization, backwardBatchNormalizationAlternative, forwardBatchNormalization, makeBnParam } from './batchnorm.ts';
import type { BatchNormCache, BnParam } from './batchnorm.ts';
import { backwardLayerNormalization, forwardLayerNormalization } from './layernorm.ts';
import type { LayerNormCache } from './layernorm.ts';
import { fillInitNormals } from './philox.ts';
import { makeTensor, rowsCols } from './tensor.ts';
import type { Tensor } from './tensor.ts';
import {
  makeNetTensors,
  resolveNetOptions,
  type Activation,
  type FullyConnectedNeuralNetOptions,
  type Normalization,
} from './fc-net-options.ts';

export {
  makeNetTensors,
  resolveNetOptions,
  resolveNormalization,
  type Activation,
  type FullyConnectedNeuralNetOptions,
  type Normalization,
  type ResolvedNetOptions,
  type TensorStart,
} from './fc-net-options.ts';

/** Each activation's forward and backward, by name. */
const activations = { relu: { forward: reluForward, backward: reluBackward }, gelu: { forward: geluForward, backward: geluBackward } };

/** Passed by `create` only: the constructor leaves the weight draws to it. */
const DEFER_WEIGHTS: unique symbol = Symbol('defer weights');

/** A macrotask boundary: `scheduler.yield()` where the browser has it, else a timer. */
function nextTask(): Promise<void> {
  const s = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  return s?.yield ? s.yield() : new Promise((r) => setTimeout(r, 0));
}

/** What one hidden layer's forward keeps for the backward pass. */
interface HiddenCache {
  affine: AffineCache;
  bn: BatchNormCache | null;
  ln: LayerNormCache | null;
  /** The activation's input. */
  act: Tensor;
}

/**
 * A fully-connected classifier with L = hiddenDims.length + 1 affine layers, softmax loss and
 * optional batchnorm or layer norm, trained in float64 on the CPU; the reference the GPU network is checked against.
 * @example
 *   const net = new FullyConnectedNeuralNet([100, 100], { useBatchnorm: true, seed: 1 });
 *   const { loss, grads } = net.loss(X, y); // grads.W1, grads.gamma1, ...
 */
export class FullyConnectedNeuralNet {
  readonly hiddenDims: number[];
  readonly numLayers: number;
  readonly inputDim: number;
  readonly numClasses: number;
  readonly normalization: Normalization;
  /** `normalization === 'batchnorm'` (the seed's flag). */
  readonly useBatchnorm: boolean;
  readonly backwardVariant: 'graph' | 'alternative';
  readonly activation: Activation;
  reg: number;
  /** `W1..WL` ([in, out]), `b1..bL`, and with a normalization `gamma1..gamma(L-1)`, `beta1..beta(L-1)` (all 1-D [H]). */
  params: Record<string, Tensor> = {};
  /** One per hidden layer when `useBatchnorm` (empty otherwise); running statistics start as zeros. */
  bnParams: BnParam[] = [];

  /** The weight draws `create` runs in chunks (null once drawn). */
  private pendingDraws: Generator<void> | null = null;

  /**
   * The same net as `new FullyConnectedNeuralNet(hiddenDims, options)` (the same weights, bit for bit), drawn in
   * chunks of rows with `pause()` awaited between them, so a page building a large net stays responsive.
   *   const net = await FullyConnectedNeuralNet.create([100, 100], { seed: 1 });
   *   net.params.W1; // as new FullyConnectedNeuralNet([100, 100], { seed: 1 }).params.W1
   */
  static async create(
    hiddenDims: number[],
    options: FullyConnectedNeuralNetOptions = {},
    pause: () => Promise<void> = nextTask,
  ): Promise<FullyConnectedNeuralNet> {
    const net = new FullyConnectedNeuralNet(hiddenDims, options, DEFER_WEIGHTS);
    const draws = net.pendingDraws!;
    net.pendingDraws = null;
    while (!draws.next().done) await pause();
    return net;
  }

  /**
   * W1..WL, each from its own Philox stream (`fillInitNormals`: W_l[i, j] = weightScale · normal(seed, l, i·out + j)),
   * pausing every `chunk` values.
   */
  private *drawWeights(seed: number, weights: Tensor[], weightScale: number, chunk = 1 << 15): Generator<void> {
    let drawn = 0;
    for (const [i, t] of weights.entries()) {
      for (let at = 0; at < t.data.length;) {
        const take = Math.min(t.data.length - at, chunk - (drawn % chunk));
        fillInitNormals(t.data.subarray(at, at + take), seed, i + 1, weightScale, at);
        at += take;
        drawn += take;
        if (drawn % chunk === 0) yield;
      }
    }
  }

  constructor(hiddenDims: number[], options: FullyConnectedNeuralNetOptions = {}, deferred?: typeof DEFER_WEIGHTS) {
    const o = resolveNetOptions(hiddenDims, options);
    this.hiddenDims = [...hiddenDims];
    this.numLayers = hiddenDims.length + 1;
    this.inputDim = o.dims[0]!;
    this.numClasses = o.dims[this.numLayers]!;
    this.normalization = o.normalization;
    this.useBatchnorm = o.normalization === 'batchnorm';
    this.backwardVariant = o.backwardVariant;
    this.activation = o.activation;
    this.reg = o.reg;

    const weights: Tensor[] = [];
    for (const t of makeNetTensors(o)) {
      const tensor = makeTensor(t.shape);
      if (t.start === 'ones') tensor.data.fill(1);
      if (t.start === 'normal') weights.push(tensor);
      if (t.name.startsWith('running')) continue; // bnParams below
      this.params[t.name] = tensor;
    }
    const draws = this.drawWeights(o.seed, weights, o.weightScale);
    if (deferred !== DEFER_WEIGHTS) while (!draws.next().done);
    else this.pendingDraws = draws;
    if (this.useBatchnorm) for (let l = 1; l < this.numLayers; l++) this.bnParams.push(makeBnParam('train', o.dims[l]));
  }

  /**
   * Every tensor of the net by its one name, as the GPU net and safetensors files (CPU or GPU) name them: the
   * parameters (`W1`, `b1`, `gamma1`, `beta1`, ...) and the running statistics (`runningMean1`, `runningVar1`, ...).
   *   const t = new FullyConnectedNeuralNet([7], { useBatchnorm: true }).namedTensors();
   *   Object.keys(t); // ['W1', 'W2', 'b1', 'b2', 'gamma1', 'beta1', 'runningMean1', 'runningVar1']
   */
  namedTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { ...this.params };
    this.bnParams.forEach((b, i) => {
      if (b.runningMean) out[`runningMean${i + 1}`] = makeTensor([b.runningMean.length], b.runningMean);
      if (b.runningVar) out[`runningVar${i + 1}`] = makeTensor([b.runningVar.length], b.runningVar);
    });
    return out;
  }

  /**
   * Class scores [N, C] for X [N, ...] (flattened to inputDim), with batchnorm in TEST mode: it
   * normalizes with the running statistics and leaves `bnParams` untouched.
   * @example
   *   const s = net.scores(Xval); // Tensor [N, numClasses]
   *   const bestOfRow0 = s.data.subarray(0, net.numClasses).reduce((b, v, j, r) => (v > r[b] ? j : b), 0);
   */
  scores(X: Tensor): Tensor {
    return this.forward(X, 'test', 'FullyConnectedNeuralNet.scores').scores;
  }

  /**
   * Without `y`: the class scores, as `scores(X)`. With `y`: a train-mode pass (batch statistics,
   * running statistics updated) returning the mean softmax loss plus `0.5 * reg * sum(W^2)` and
   * the gradient of that loss for every entry of `params`.
   * @example
   *   const { loss, grads } = net.loss(Xbatch, yBatch); // grads.W1 has W1's shape
   *   const scores = net.loss(Xval);                     // no labels: test-mode scores
   */
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: ArrayLike<number>): { loss: number; grads: Record<string, Tensor> };
  loss(X: Tensor, y?: ArrayLike<number>): Tensor | { loss: number; grads: Record<string, Tensor> } {
    if (y === undefined) return this.scores(X);
    const { scores, caches, outCache } = this.forward(X, 'train', 'FullyConnectedNeuralNet.loss');
    const { loss: dataLoss, dx: dscores } = softmaxLoss(scores, y);
    const L = this.numLayers;
    let regLoss = 0;
    for (let l = 1; l <= L; l++) for (const w of this.params[`W${l}`].data) regLoss += w * w;
    const grads: Record<string, Tensor> = {};

    let { dx: dh, dw, db } = affineBackward(dscores, outCache);
    grads[`W${L}`] = this.addRegGrad(dw, `W${L}`);
    grads[`b${L}`] = db;
    for (let l = L - 1; l >= 1; l--) {
      const cache = caches[l - 1];
      let da = activations[this.activation].backward(dh, cache.act);
      if (cache.bn !== null) {
        const bnBackward = this.backwardVariant === 'graph' ? backwardBatchNormalization : backwardBatchNormalizationAlternative;
        const { dx, dgamma, dbeta } = bnBackward(da, cache.bn);
        grads[`gamma${l}`] = makeTensor([dgamma.length], dgamma);
        grads[`beta${l}`] = makeTensor([dbeta.length], dbeta);
        da = dx;
      } else if (cache.ln !== null) {
        const { dx, dgamma, dbeta } = backwardLayerNormalization(da, cache.ln);
        grads[`gamma${l}`] = makeTensor([dgamma.length], dgamma);
        grads[`beta${l}`] = makeTensor([dbeta.length], dbeta);
        da = dx;
      }
      ({ dx: dh, dw, db } = affineBackward(da, cache.affine));
      grads[`W${l}`] = this.addRegGrad(dw, `W${l}`);
      grads[`b${l}`] = db;
    }
    return { loss: dataLoss + 0.5 * this.reg * regLoss, grads };
  }

  /** The forward pass; `mode` sets batchnorm's mode (test mode works on copies of bnParams). */
  private forward(X: Tensor, mode: 'train' | 'test', fn: string): { scores: Tensor; caches: HiddenCache[]; outCache: AffineCache } {
    const [n, d] = rowsCols(fn, 'X', X.shape);
    if (d !== this.inputDim) {
      throw new Error(`${fn}: X has shape [${X.shape.join(',')}] (${d} features per row), expected inputDim ${this.inputDim}`);
    }
    let h: Tensor = { data: X.data, shape: [n, d] };
    const caches: HiddenCache[] = [];
    for (let l = 1; l < this.numLayers; l++) {
      const affine = affineForward(h, this.params[`W${l}`], this.params[`b${l}`]);
      let a = affine.out;
      let bn: BatchNormCache | null = null;
      let ln: LayerNormCache | null = null;
      if (this.normalization === 'layernorm') {
        // Layer norm is the same in train and test mode: each row is normalized by its own statistics.
        const r = forwardLayerNormalization(a, this.params[`gamma${l}`].data, this.params[`beta${l}`].data, {});
        a = r.out;
        ln = r.cache;
      } else if (this.useBatchnorm) {
        const stored = this.bnParams[l - 1];
        // Train mode writes the running statistics back into bnParams; test mode must not touch them.
        const bnParam = mode === 'train' ? Object.assign(stored, { mode }) : { ...stored, mode };
        const r = forwardBatchNormalization(a, this.params[`gamma${l}`].data, this.params[`beta${l}`].data, bnParam);
        a = r.out;
        bn = r.cache;
      }
      const act = activations[this.activation].forward(a);
      caches.push({ affine: affine.cache, bn, ln, act: act.cache });
      h = act.out;
    }
    const L = this.numLayers;
    const out = affineForward(h, this.params[`W${L}`], this.params[`b${L}`]);
    return { scores: out.out, caches, outCache: out.cache };
  }

  /** dW + reg * W. */
  private addRegGrad(dw: Tensor, name: string): Tensor {
    const w = this.params[name].data;
    for (let i = 0; i < dw.data.length; i++) dw.data[i] += this.reg * w[i];
    return dw;
  }
}
