// The GPU FullyConnectedNeuralNet: a thin builder of {affine - [batchnorm | layernorm] - relu | gelu} x (L-1) - affine on GraphModel.
import type { GpuContext } from '../gpu/device.ts';
import type { Value } from '../graph/graph.ts';
import { GraphModel } from '../graph/model.ts';
import {
  resolveNetOptions,
  type Activation,
  type FullyConnectedNeuralNetOptions,
  type Normalization,
  type ResolvedNetOptions,
} from '../reference/fc-net.ts';
import { affineOp } from '../ops/affine.ts';
import { batchedAffineOp } from '../ops/batched-affine.ts';
import { batchNormOp } from '../ops/batchnorm.ts';
import { affineBatchNormOp, type AffineBatchNormFusion } from '../ops/affine-batchnorm.ts';
import { layerNormOp } from '../ops/layernorm.ts';
import { activationOps } from '../ops/elementwise.ts';
import type { TrainableModel } from '../solver/model.ts';
import { makeClassifier, type AffineHead, type ForwardContext } from './classifier.ts';
import { drawInitialWeights, makeInitialTensors } from './initial-weights.ts';

export type { Activation, Normalization };

export interface GpuNetOptions extends FullyConnectedNeuralNetOptions {
  /** Batchnorm / layer norm epsilon (1e-5) and batchnorm's running-average momentum (0.9). */
  eps?: number;
  momentum?: number;
  /** The largest chunk of training rows on the GPU, in bytes (default: the device's storage-binding limit). */
  maxChunkBytes?: number;
  /** The hidden layers' fused kernels (`NetSpec.fusion`): planned by shape (default), forced, or 'off' (a population's kernels). */
  fusion?: AffineBatchNormFusion;
}

/** The architecture of one net: layer sizes, the normalization, L2, and the normalization settings. */
export interface NetSpec {
  dims: number[];
  /** The layer before each ReLU: batchnorm (running statistics as state), layernorm, or none. */
  normalization: Normalization;
  /** The hidden layers' nonlinearity, default 'relu' (with batchnorm, ReLU is fused into the batchnorm op; GELU runs behind it). */
  activation?: Activation;
  reg: number;
  eps: number;
  momentum: number;
  backwardVariant: 'graph' | 'alternative';
  /** A population (src/nn/population.ts): every model's L2 strength; the layers are batched affines over the model axis. */
  regs?: readonly number[];
  /** A population's real layer sizes where `dims` are the stored (rounded-up) ones; layer norm counts these. */
  features?: readonly number[];
  /**
   * A batchnorm net's affine + batchnorm (+ ReLU) layers: one fused op, planned by shape (default), or forced
   * ('product', 'partials'); without a normalization, the ReLU is the affine's epilogue. 'off' keeps the affine,
   * batchnorm and ReLU ops apart and the affine backward as two matmuls and a column sum: a population's kernels.
   */
  fusion?: AffineBatchNormFusion;
}

/**
 * The forward pass of the net, written with ops: hidden layers affine - [batchnorm | layernorm] - relu | gelu, then the
 * last affine, handed to the classifier as the head (it fuses it with the loss where it can). For a population
 * (`spec.regs`), the same with batched affines: every activation is [batch, models·width].
 *   const head = fcForward(spec)(ctx, x);
 *   head.W.name; // 'W6': scores = head.x·W6 + b6
 */
export function fcForward(spec: NetSpec): (ctx: ForwardContext, x: Value) => AffineHead {
  const L = spec.dims.length - 1;
  const affine = spec.regs ? batchedAffineOp : affineOp;
  const reg = spec.regs ?? spec.reg;
  const penalized = typeof reg === 'number' ? reg > 0 : reg.some((r) => r > 0);
  return (ctx, x) => {
    const { g } = ctx;
    let h = x;
    for (let l = 1; l <= L; l++) {
      const W = ctx.param(`W${l}`);
      if (penalized) ctx.penalize(W, reg);
      // the last layer goes back to the classifier as the head (fused with the softmax loss where its plan allows)
      const unfused = spec.fusion === 'off' && !spec.regs;
      if (l === L) return { x: h, W, b: ctx.param(`b${l}`), ...(unfused ? { attrs: { grouped: false } } : {}) };
      const activation = spec.activation ?? 'relu';
      const fusedRelu = activation === 'relu';
      const bnAttrs = { mode: ctx.mode, eps: spec.eps, momentum: spec.momentum, variant: spec.backwardVariant, relu: fusedRelu };
      if (spec.normalization === 'batchnorm' && !spec.regs && spec.fusion !== 'off') {
        // affine, batchnorm and the ReLU behind it as one op (src/ops/affine-batchnorm.ts plans the kernels)
        const inputs = [h, W, ctx.param(`b${l}`), ctx.param(`gamma${l}`), ctx.param(`beta${l}`)];
        [h] = g.apply(affineBatchNormOp, inputs, { ...bnAttrs, fusion: spec.fusion }, [
          ctx.state(`runningMean${l}`),
          ctx.state(`runningVar${l}`),
        ]);
        if (!fusedRelu) [h] = g.apply(activationOps[activation], [h!]);
        continue;
      }
      // without a normalization, a hidden layer's ReLU is the matmul's epilogue (and its mask the gradient's prologue)
      const reluEpilogue = !spec.normalization && fusedRelu && !spec.regs && spec.fusion !== 'off';
      const affineAttrs = unfused ? { grouped: false } : reluEpilogue ? { relu: true } : {};
      [h] = g.apply(affine, [h, W, ctx.param(`b${l}`)], affineAttrs);
      if (reluEpilogue) continue;
      if (spec.normalization === 'batchnorm') {
        // batchnorm and a ReLU behind it as one op (one pass forward, one backward)
        [h] = g.apply(batchNormOp, [h!, ctx.param(`gamma${l}`), ctx.param(`beta${l}`)], bnAttrs, [
          ctx.state(`runningMean${l}`),
          ctx.state(`runningVar${l}`),
        ]);
      } else if (spec.normalization === 'layernorm') {
        // a population: each model's block of a row normalized alone, over its real features only
        const blocks = spec.regs ? { models: spec.regs.length, features: spec.features?.[l] ?? spec.dims[l]! } : undefined;
        [h] = g.apply(layerNormOp, [h!, ctx.param(`gamma${l}`), ctx.param(`beta${l}`)], { eps: spec.eps, blocks });
      }
      if (!(fusedRelu && spec.normalization === 'batchnorm')) [h] = g.apply(activationOps[activation], [h!]);
    }
    throw new Error(`fcForward: dims [${spec.dims.join(',')}] have no layer`);
  };
}

/**
 * A fully-connected network with optional batchnorm or layer norm (`normalization`), trained on the GPU; the Solver trains it like the reference.
 *   const net = await FullyConnectedNeuralNet.create(gpu, [100, 100], { useBatchnorm: true });
 *   const { loss, grads } = await net.loss(X, y);
 */
export class FullyConnectedNeuralNet extends GraphModel implements TrainableModel {
  readonly spec: NetSpec;
  readonly hiddenDims: number[];
  readonly numLayers: number;
  readonly normalization: Normalization;
  /** `normalization === 'batchnorm'` (the seed's flag). */
  readonly useBatchnorm: boolean;
  readonly backwardVariant: 'graph' | 'alternative';

  private constructor(gpu: GpuContext, hiddenDims: number[], net: ResolvedNetOptions, spec: NetSpec, maxChunkBytes?: number) {
    super(
      gpu,
      makeClassifier({
        name: 'FullyConnectedNeuralNet',
        inputDim: net.dims[0]!,
        numClasses: net.dims.at(-1)!,
        ...makeInitialTensors(net, null),
        forward: fcForward(spec),
        metadata: {
          format: 'webgpu-batchnorm',
          hiddenDims: JSON.stringify(hiddenDims),
          useBatchnorm: String(net.normalization === 'batchnorm'),
          normalization: String(net.normalization),
          activation: net.activation,
        },
        upload: { maxChunkBytes },
      }),
    );
    this.spec = spec;
    this.hiddenDims = [...hiddenDims];
    this.numLayers = hiddenDims.length + 1;
    this.normalization = net.normalization;
    this.useBatchnorm = net.normalization === 'batchnorm';
    this.backwardVariant = net.backwardVariant;
  }

  /**
   * Build a network on `gpu`; options as the reference's (inputDim, numClasses, normalization or useBatchnorm, activation,
   * reg, weightScale, seed, backwardVariant). The weights are drawn on the GPU (Philox, keyed by the seed), as the float64
   * reference with the same options draws them on the host (to f32 rounding); the host only queues the draws.
   */
  static async create(gpu: GpuContext, hiddenDims: number[], options: GpuNetOptions = {}): Promise<FullyConnectedNeuralNet> {
    const { eps = 1e-5, momentum = 0.9, maxChunkBytes, fusion, ...refOptions } = options;
    const net = resolveNetOptions(hiddenDims, refOptions);
    const spec = {
      dims: net.dims,
      normalization: net.normalization,
      activation: net.activation,
      reg: net.reg,
      eps,
      momentum,
      backwardVariant: net.backwardVariant,
      fusion,
    };
    const model = new FullyConnectedNeuralNet(gpu, hiddenDims, net, spec, maxChunkBytes);
    await drawInitialWeights(model, net.dims, [net]);
    return model;
  }

  get reg(): number {
    return this.spec.reg;
  }
  get inputDim(): number {
    return this.spec.dims[0]!;
  }
  get numClasses(): number {
    return this.spec.dims[this.spec.dims.length - 1]!;
  }
}
