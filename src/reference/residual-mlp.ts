// A residual MLP in float64 (not an FC net: its hidden activation feeds two nodes): h = relu(x·W1 + b1), s = h + relu(h·W2 + b2), scores = s·W3 + b3.
import { affineBackward, affineForward, reluBackward, reluForward, softmaxLoss } from './layers.ts';
import { makeRng } from './rng.ts';
import { makeTensor, rowsCols, type Tensor } from './tensor.ts';

/** Constructor options; an unknown key is an error. */
export interface ResidualMLPOptions {
  /** Features per example; default 3072. */
  inputDim?: number;
  /** Default 10. */
  numClasses?: number;
  /** L2 strength: the loss adds `0.5 * reg * sum(W^2)` over W1, W2, W3; default 0. */
  reg?: number;
  /** Weights start as `weightScale * randn`; default 1e-2. */
  weightScale?: number;
  /** Seed of the RNG that draws W1, W2, W3 in that order; default 0. */
  seed?: number;
}

const OPTION_KEYS = ['inputDim', 'numClasses', 'reg', 'weightScale', 'seed'];

/**
 * One residual block between an input and an output layer, trained in float64 on the CPU: the yardstick of the
 * GPU ResidualMLP, and a model the Solver trains through createReferenceTrainer.
 *   const net = new ResidualMLP(32, { inputDim: 20, numClasses: 4, seed: 1 });
 *   const { loss, grads } = net.loss(X, y); // grads.W2 ...
 */
export class ResidualMLP {
  readonly hiddenDim: number;
  readonly inputDim: number;
  readonly numClasses: number;
  readonly reg: number;
  /** W1 [D, H], b1, W2 [H, H], b2, W3 [H, C], b3. */
  params: Record<string, Tensor> = {};

  constructor(hiddenDim: number, options: ResidualMLPOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) throw new Error(`ResidualMLP: unknown option "${key}" (expected one of ${OPTION_KEYS.join(', ')})`);
    }
    const { inputDim = 3072, numClasses = 10, reg = 0, weightScale = 1e-2, seed = 0 } = options;
    const dims = [inputDim, hiddenDim, hiddenDim, numClasses];
    if (!dims.every((d) => Number.isInteger(d) && d > 0))
      throw new Error(`ResidualMLP: sizes must be positive integers, got ${JSON.stringify(dims)}`);
    for (const [name, v] of Object.entries({ reg, weightScale })) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`ResidualMLP: ${name} must be a finite number >= 0, got ${v}`);
    }
    this.hiddenDim = hiddenDim;
    this.inputDim = inputDim;
    this.numClasses = numClasses;
    this.reg = reg;
    const rng = makeRng(seed);
    for (let l = 1; l <= 3; l++) this.params[`W${l}`] = rng.randnTensor([dims[l - 1]!, dims[l]!], weightScale);
    for (let l = 1; l <= 3; l++) this.params[`b${l}`] = makeTensor([dims[l]!]);
  }

  /** Every tensor by name (the parameters; the block keeps no state). */
  namedTensors(): Record<string, Tensor> {
    return { ...this.params };
  }

  private forward(X: Tensor, fn: string) {
    const [n, d] = rowsCols(fn, 'X', X.shape);
    if (d !== this.inputDim)
      throw new Error(`${fn}: X has shape [${X.shape.join(',')}] (${d} features per row), expected inputDim ${this.inputDim}`);
    const p = this.params;
    const a1 = affineForward({ data: X.data, shape: [n, d] }, p.W1!, p.b1!);
    const h = reluForward(a1.out);
    const a2 = affineForward(h.out, p.W2!, p.b2!);
    const r = reluForward(a2.out);
    const s = makeTensor(
      h.out.shape,
      h.out.data.map((v, i) => v + r.out.data[i]!),
    );
    const a3 = affineForward(s, p.W3!, p.b3!);
    return { scores: a3.out, a1, h, a2, r, a3 };
  }

  /** Class scores [N, C] for X [N, inputDim]. */
  scores(X: Tensor): Tensor {
    return this.forward(X, 'ResidualMLP.scores').scores;
  }

  /**
   * Mean softmax loss (plus `0.5 * reg * sum(W^2)`) and its gradient for every parameter; h's gradient is the
   * sum of what reaches it through the skip and through the block.
   *   const { loss, grads } = net.loss(X, y);
   *   grads.W1.shape; // [inputDim, hiddenDim]
   */
  loss(X: Tensor, y: ArrayLike<number>): { loss: number; grads: Record<string, Tensor> } {
    const { scores, a1, h, a2, r, a3 } = this.forward(X, 'ResidualMLP.loss');
    const { loss: dataLoss, dx: dscores } = softmaxLoss(scores, y);
    const grads: Record<string, Tensor> = {};
    const reg = (name: string, dw: Tensor) =>
      makeTensor(
        dw.shape,
        dw.data.map((g, i) => g + this.reg * this.params[name]!.data[i]!),
      );
    const l3 = affineBackward(dscores, a3.cache);
    const l2 = affineBackward(reluBackward(l3.dx, r.cache), a2.cache);
    const dh = makeTensor(
      l3.dx.shape,
      l3.dx.data.map((g, i) => g + l2.dx.data[i]!),
    ); // skip + block
    const l1 = affineBackward(reluBackward(dh, h.cache), a1.cache);
    for (const [k, l] of [
      [1, l1],
      [2, l2],
      [3, l3],
    ] as const) {
      grads[`W${k}`] = reg(`W${k}`, l.dw);
      grads[`b${k}`] = l.db;
    }
    let regLoss = 0;
    for (let k = 1; k <= 3; k++) for (const w of this.params[`W${k}`]!.data) regLoss += w * w;
    return { loss: dataLoss + 0.5 * this.reg * regLoss, grads };
  }
}
