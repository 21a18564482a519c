// The GPU ResidualMLP: h = relu(x·W1 + b1), s = h + relu(h·W2 + b2), scores = s·W3 + b3 on GraphModel (h feeds two nodes: fan-out).
import type { GpuContext } from '../gpu/device.ts';
import type { Value } from '../graph/graph.ts';
import { GraphModel } from '../graph/model.ts';
import { ResidualMLP as ReferenceResidualMLP, type ResidualMLPOptions } from '../reference/residual-mlp.ts';
import { affineOp } from '../ops/affine.ts';
import { addOp, reluOp } from '../ops/elementwise.ts';
import type { TrainableModel } from '../solver/model.ts';
import { makeClassifier, type AffineHead, type ForwardContext } from './classifier.ts';

/**
 * The residual block's forward pass, written with ops; its last affine is handed to the classifier as the head.
 *   const head = residualForward(0)(ctx, x);
 *   head.W.name; // 'W3': scores = head.x·W3 + b3
 */
export function residualForward(reg: number): (ctx: ForwardContext, x: Value) => AffineHead {
  return (ctx, x) => {
    const { g } = ctx;
    const layer = (h: Value, l: number): AffineHead => {
      const W = ctx.param(`W${l}`);
      if (reg > 0) ctx.penalize(W, reg);
      return { x: h, W, b: ctx.param(`b${l}`) };
    };
    const affine = (h: Value, l: number) => {
      const { W, b } = layer(h, l);
      return g.apply(affineOp, [h, W, b])[0]!;
    };
    const [h] = g.apply(reluOp, [affine(x, 1)]);
    const [r] = g.apply(reluOp, [affine(h!, 2)]);
    const [s] = g.apply(addOp, [h!, r!]); // the skip: h is read here and by the block
    return layer(s!, 3);
  };
}

/**
 * A residual MLP trained on the GPU by the same engine and Solver as the FC net; the float64 reference
 * (reference.ResidualMLP) draws its initial weights.
 *   const net = await ResidualMLP.create(gpu, 64, { inputDim: 3072, numClasses: 10, seed: 1 });
 *   await new Solver(net, data, { updateRule: 'adam' }).train();
 */
export class ResidualMLP extends GraphModel implements TrainableModel {
  readonly hiddenDim: number;

  private constructor(gpu: GpuContext, ref: ReferenceResidualMLP) {
    super(
      gpu,
      makeClassifier({
        name: 'ResidualMLP',
        inputDim: ref.inputDim,
        numClasses: ref.numClasses,
        params: Object.entries(ref.namedTensors()).map(([name, t]) => ({ name, shape: [...t.shape], data: t.data })),
        state: [],
        forward: residualForward(ref.reg),
        metadata: { format: 'webgpu-batchnorm', model: 'ResidualMLP', hiddenDim: String(ref.hiddenDim) },
      }),
    );
    this.hiddenDim = ref.hiddenDim;
  }

  /** Build the model on `gpu`; options as the reference's (inputDim, numClasses, reg, weightScale, seed). */
  static async create(gpu: GpuContext, hiddenDim: number, options: ResidualMLPOptions = {}): Promise<ResidualMLP> {
    return new ResidualMLP(gpu, new ReferenceResidualMLP(hiddenDim, options));
  }
}
