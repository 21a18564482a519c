// Batch normalization's graph ops: batchnorm (train/test, with an optional fused ReLU) and its gradient; the kernels
// are in batchnorm-forward.ts and batchnorm-backward.ts.
import { expectShape, type OpDef } from '../graph/graph.ts';
import { createBatchNormForward } from './batchnorm-forward.ts';
import { createBatchNormBackward } from './batchnorm-backward.ts';
import { makeNormGrad } from './norm-columns.ts';

/** `relu`: the op is batchnorm then ReLU in one pass each way (out = max(0, bn(x)); backward masks by out > 0). */
export interface BatchNormAttrs {
  mode: 'train' | 'test';
  eps: number;
  momentum: number;
  variant: 'graph' | 'alternative';
  relu?: boolean;
}

/**
 * Batchnorm over inputs [x, gamma, beta] updating [runningMean, runningVar]; train mode also outputs the
 * saved mean, 1/σ and x̂ that backward reads.
 */
export const batchNormOp: OpDef<BatchNormAttrs> = {
  name: 'batchnorm',
  outputs([x, gamma, beta], { mode, relu }) {
    expectShape('batchnorm', 'x', x!.shape, [-1, gamma!.shape[0]!]);
    expectShape('batchnorm', 'beta', beta!.shape, gamma!.shape);
    const d = gamma!.shape[0]!;
    const out = [{ name: `${relu ? 'relu(bn' : 'bn'}(${x!.name})${relu ? ')' : ''}`, shape: [...x!.shape] }];
    return mode === 'train'
      ? [
          ...out,
          { name: `mean(${x!.name})`, shape: [d] },
          { name: `invStd(${x!.name})`, shape: [d] },
          { name: `xhat(${x!.name})`, shape: [...x!.shape] },
        ]
      : out;
  },
  encode(scope, { inputs: [x, gamma, beta], outputs: [out, mean, invStd, xhat], updates: [runningMean, runningVar] }, node) {
    const { mode, eps, momentum, relu } = node.attrs;
    const [n, d] = node.inputs[0]!.shape as [number, number];
    return createBatchNormForward(scope, {
      x: x!,
      gamma: gamma!,
      beta: beta!,
      out: out!,
      runningMean: runningMean!,
      runningVar: runningVar!,
      n,
      d,
      mode,
      eps,
      momentum,
      relu,
      saved: mode === 'train' ? { mean: mean!, invStd: invStd!, xhat: xhat! } : undefined,
    });
  },
  backward(g, node, [dout]) {
    if (node.attrs.mode !== 'train') throw new Error('batchnorm: backward of a test-mode batchnorm is not defined');
    const [x, gamma] = node.inputs;
    const [out, mean, invStd, xhat] = node.outputs;
    const inputs = [dout!, xhat!, invStd!, gamma!, x!, mean!, ...(node.attrs.relu ? [out!] : [])];
    const [dx, dgamma, dbeta] = g.apply(batchNormGradOp, inputs, { variant: node.attrs.variant }, [], 'grad');
    return [dx!, dgamma!, dbeta!];
  },
};

const bnGrad = makeNormGrad('bn');

/**
 * [dx, dgamma, dbeta] from [dout, xhat, invStd, gamma, x, mean] (and the fused ReLU's output, when there is one); with
 * `xmuFromXhat` the inputs are [dout, xhat, invStd, gamma, reluOut?] and the graph takes xmu as xhat / invStd.
 */
export const batchNormGradOp: OpDef<{ variant: 'graph' | 'alternative'; xmuFromXhat?: boolean }> = {
  name: 'batchnorm_grad',
  outputs: bnGrad.outputs,
  encode(scope, bound, node) {
    const rest = bound.inputs.slice(4);
    const [x, mean, reluOut] = node.attrs.xmuFromXhat ? [undefined, undefined, rest[0]] : rest;
    const [n, d] = node.inputs[0]!.shape as [number, number];
    return createBatchNormBackward(scope, {
      ...bnGrad.args(bound),
      n,
      d,
      variant: node.attrs.variant,
      x: x!,
      mean: mean!,
      reluOut,
    });
  },
};
