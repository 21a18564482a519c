// Adapts a float64 reference model (FullyConnectedNeuralNet, ResidualMLP) to the Solver's TrainableModel (CPU training, the GPU's yardstick).
import type { BnParam } from '../reference/batchnorm.ts';
import { getUpdateRule, type OptimConfigInput, type UpdateRule } from '../reference/optim.ts';
import type { Tensor } from '../reference/tensor.ts';
import type { SolverData, SolverSplit, TrainableModel } from './model.ts';

/** Rows `indices` of X as a float64 [k, D] tensor, with the mean image subtracted when X is uint8. */
function gatherRows(X: SolverSplit['X'], indices: Uint32Array, mean?: Float32Array | Float64Array): Tensor {
  const n = X.shape[0]!;
  const d = X.data.length / n;
  const out = new Float64Array(indices.length * d);
  const isU8 = X.data instanceof Uint8Array;
  if (isU8 && !mean) throw new Error('reference trainer: XTrain is uint8 but data.meanImage is missing');
  indices.forEach((r, i) => {
    if (r >= n) throw new Error(`reference trainer: row ${r} out of range (${n} rows)`);
    for (let j = 0; j < d; j++) out[i * d + j] = X.data[r * d + j]! - (isU8 ? mean![j]! : 0);
  });
  return { data: out, shape: [indices.length, d] };
}

/** What the reference trainer needs from a float64 model: parameters, loss with gradients, scores, optional batchnorm state. */
export interface ReferenceModel {
  params: Record<string, Tensor>;
  loss(X: Tensor, y: ArrayLike<number>): { loss: number; grads: Record<string, Tensor> };
  scores(X: Tensor): Tensor;
  bnParams?: BnParam[];
}

/**
 * Wrap a reference network so the Solver can train it on the CPU in float64.
 *   const model = createReferenceTrainer(new reference.FullyConnectedNeuralNet([100], { seed: 1 }));
 *   await new Solver(model, data, { updateRule: 'adam' }).train();
 */
export function createReferenceTrainer<M extends ReferenceModel>(net: M): TrainableModel & { net: M } {
  let data: SolverData | null = null;
  let rule: UpdateRule | null = null;
  const configs: Record<string, OptimConfigInput> = {};
  const need = () => {
    if (!data || !rule) throw new Error('reference trainer: attachData and setUpdateRule come first');
    return { data, rule };
  };
  return {
    net,
    async attachData(d) {
      data = d;
    },
    async setUpdateRule(name, optimConfig) {
      rule = getUpdateRule(name);
      for (const p of Object.keys(net.params)) configs[p] = { ...optimConfig } as OptimConfigInput;
      rule(new Float64Array(1), new Float64Array(1), { ...optimConfig } as OptimConfigInput); // rejects unknown keys now
    },
    setLearningRate(lr) {
      for (const c of Object.values(configs)) c.learningRate = lr;
    },
    async step(indices) {
      const { data: d, rule: update } = need();
      const X = gatherRows(d.XTrain, indices, d.meanImage);
      const y = Array.from(indices, (i) => d.yTrain[i]!);
      const { loss, grads } = net.loss(X, y);
      for (const [name, p] of Object.entries(net.params)) {
        const { nextW, config } = update(p.data, grads[name]!.data, configs[name]);
        p.data = nextW;
        configs[name] = config as OptimConfigInput;
      }
      return loss;
    },
    async accuracy(split, indices) {
      const { data: d } = need();
      const X = split === 'train' ? d.XTrain : d.XVal;
      const y = split === 'train' ? d.yTrain : d.yVal;
      const scores = net.scores(gatherRows(X, indices, d.meanImage));
      const c = scores.shape[1]!;
      let correct = 0;
      indices.forEach((r, i) => {
        let best = 0;
        for (let j = 1; j < c; j++) if (scores.data[i * c + j]! > scores.data[i * c + best]!) best = j;
        if (best === y[r]) correct++;
      });
      return correct / indices.length;
    },
    async snapshot() {
      return {
        params: Object.fromEntries(Object.entries(net.params).map(([k, t]) => [k, { data: t.data.slice(), shape: [...t.shape] }])),
        bn: (net.bnParams ?? []).map((b) => ({ runningMean: b.runningMean?.slice(), runningVar: b.runningVar?.slice() })),
      };
    },
    async restore(s) {
      const snap = s as { params: Record<string, Tensor>; bn: { runningMean?: Float64Array; runningVar?: Float64Array }[] };
      for (const [k, t] of Object.entries(snap.params)) net.params[k] = { data: t.data.slice(), shape: [...t.shape] };
      snap.bn.forEach((b, i) =>
        Object.assign(net.bnParams![i]!, { runningMean: b.runningMean?.slice(), runningVar: b.runningVar?.slice() }),
      );
    },
  };
}
