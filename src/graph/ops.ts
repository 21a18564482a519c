// The graph's ops: shape rule, GPU encode (through src/ops) and backward rule of each, side by side.
import { createAffineBackward, createAffineForward } from '../ops/affine.ts';
import { createBatchNormBackward, createBatchNormForward } from '../ops/batchnorm.ts';
import { createReluBackward, createReluForward } from '../ops/relu.ts';
import { createSoftmaxLoss } from '../ops/softmax.ts';
import { createL2Regularization } from '../ops/regularization.ts';
import { createAccuracy } from '../ops/accuracy.ts';
import { createGatherRows } from '../ops/gather-rows.ts';
import { createGather } from '../ops/gather.ts';
import { expectShape, sizeOf, type Graph, type OpDef, type Value } from './graph.ts';

const needsGrad = (v: Value) => !v.noGrad && (v.kind === 'param' || v.kind === 'activation');

/** out = x·W + b; x [n, d] (data or activation), W [d, m], b [m]. */
export const affineOp: OpDef = {
  name: 'affine',
  outputs([x, w, b]) {
    const [n, d] = [x!.shape[0]!, sizeOf(x!.shape.slice(1))];
    expectShape('affine', 'W', w!.shape, [d, -1]);
    expectShape('affine', 'b', b!.shape, [w!.shape[1]!]);
    return [{ name: `${w!.name}·x`, shape: [n, w!.shape[1]!] }];
  },
  encode(scope, { inputs: [x, w, b], outputs: [out] }, node) {
    const [xv, wv] = node.inputs;
    return createAffineForward(scope, { x: x!, w: w!, b: b!, out: out!, n: xv!.shape[0]!, d: wv!.shape[0]!, m: wv!.shape[1]! });
  },
  backward(g, node, [dout]) {
    const [x, w] = node.inputs;
    const withDx = needsGrad(x!);
    const outs = g.apply(affineGradOp, [x!, w!, dout!], { withDx }, [], 'grad');
    return withDx ? [outs[0]!, outs[1]!, outs[2]!] : [null, outs[0]!, outs[1]!];
  },
};

/** [dx?, dW, db] from x, W and dout (dx only when x needs a gradient). */
export const affineGradOp: OpDef<{ withDx: boolean }> = {
  name: 'affine_grad',
  outputs([x, w], { withDx }) {
    const dims = [
      { name: `d${w!.name}`, shape: [...w!.shape] },
      { name: `db(${w!.name})`, shape: [w!.shape[1]!] },
    ];
    return withDx ? [{ name: `d(${x!.name})`, shape: [...x!.shape] }, ...dims] : dims;
  },
  encode(scope, { inputs: [x, w, dout], outputs }, node) {
    const { withDx } = node.attrs;
    const [dx, dw, db] = withDx ? outputs : [undefined, ...outputs];
    const [xv, wv] = node.inputs;
    return createAffineBackward(scope, { x: x!, w: w!, dout: dout!, dx, dw: dw!, db: db!, n: xv!.shape[0]!, d: wv!.shape[0]!, m: wv!.shape[1]! });
  },
};

export const reluOp: OpDef = {
  name: 'relu',
  outputs([x]) { return [{ name: `relu(${x!.name})`, shape: [...x!.shape] }]; },
  async encode(scope, { inputs: [x], outputs: [y] }, node) {
    return [await createReluForward(scope, { x: x!, y: y!, n: sizeOf(node.inputs[0]!.shape) })];
  },
  backward(g, node, [dout]) {
    return [g.apply(reluGradOp, [node.inputs[0]!, dout!], {}, [], 'grad')[0]!];
  },
};

export const reluGradOp: OpDef = {
  name: 'relu_grad',
  outputs([x]) { return [{ name: `d(${x!.name})`, shape: [...x!.shape] }]; },
  async encode(scope, { inputs: [x, dout], outputs: [dx] }, node) {
    return [await createReluBackward(scope, { x: x!, dout: dout!, dx: dx!, n: sizeOf(node.inputs[0]!.shape) })];
  },
};

export interface BatchNormAttrs { mode: 'train' | 'test'; eps: number; momentum: number; variant: 'graph' | 'alternative' }

/**
 * Batchnorm over inputs [x, gamma, beta] updating [runningMean, runningVar]; train mode also outputs the
 * saved mean, 1/σ and x̂ that backward reads.
 */
export const batchNormOp: OpDef<BatchNormAttrs> = {
  name: 'batchnorm',
  outputs([x, gamma, beta], { mode }) {
    expectShape('batchnorm', 'x', x!.shape, [-1, gamma!.shape[0]!]);
    expectShape('batchnorm', 'beta', beta!.shape, gamma!.shape);
    const d = gamma!.shape[0]!;
    const out = [{ name: `bn(${x!.name})`, shape: [...x!.shape] }];
    return mode === 'train'
      ? [...out, { name: `mean(${x!.name})`, shape: [d] }, { name: `invStd(${x!.name})`, shape: [d] }, { name: `xhat(${x!.name})`, shape: [...x!.shape] }]
      : out;
  },
  encode(scope, { inputs: [x, gamma, beta], outputs: [out, mean, invStd, xhat], updates: [runningMean, runningVar] }, node) {
    const { mode, eps, momentum } = node.attrs;
    const [n, d] = node.inputs[0]!.shape as [number, number];
    return createBatchNormForward(scope, {
      x: x!, gamma: gamma!, beta: beta!, out: out!, runningMean: runningMean!, runningVar: runningVar!, n, d, mode, eps, momentum,
      saved: mode === 'train' ? { mean: mean!, invStd: invStd!, xhat: xhat! } : undefined,
    });
  },
  backward(g, node, [dout]) {
    if (node.attrs.mode !== 'train') throw new Error('batchnorm: backward of a test-mode batchnorm is not defined');
    const [x, gamma] = node.inputs;
    const [, mean, invStd, xhat] = node.outputs;
    const [dx, dgamma, dbeta] = g.apply(batchNormGradOp, [dout!, xhat!, invStd!, gamma!, x!, mean!], { variant: node.attrs.variant }, [], 'grad');
    return [dx!, dgamma!, dbeta!];
  },
};

export const batchNormGradOp: OpDef<{ variant: 'graph' | 'alternative' }> = {
  name: 'batchnorm_grad',
  outputs([dout, , , gamma]) {
    return [{ name: `d(bn in)`, shape: [...dout!.shape] }, { name: 'dgamma', shape: [...gamma!.shape] }, { name: 'dbeta', shape: [...gamma!.shape] }];
  },
  encode(scope, { inputs: [dout, xhat, invStd, gamma, x, mean], outputs: [dx, dgamma, dbeta] }, node) {
    const [n, d] = node.inputs[0]!.shape as [number, number];
    return createBatchNormBackward(scope, {
      dout: dout!, xhat: xhat!, invStd: invStd!, gamma: gamma!, dx: dx!, dgamma: dgamma!, dbeta: dbeta!, n, d,
      variant: node.attrs.variant, x: x!, mean: mean!,
    });
  },
};

/** Mean softmax cross-entropy of scores [n, c] against labels y [n] into loss slot `lossIndex`; also dscores. */
export const softmaxLossOp: OpDef<{ lossIndex: number }> = {
  name: 'softmax_loss',
  outputs([scores, y]) {
    expectShape('softmax_loss', 'y', y!.shape, [scores!.shape[0]!]);
    return [{ name: 'dscores', shape: [...scores!.shape] }];
  },
  encode(scope, { inputs: [scores, y], outputs: [dscores], updates: [loss] }, node) {
    const [n, c] = node.inputs[0]!.shape as [number, number];
    return createSoftmaxLoss(scope, { scores: scores!, y: y!, loss: loss!, lossIndex: node.attrs.lossIndex, dscores: dscores!, n, c });
  },
};

/** dW += reg·W and loss[lossIndex] = 0.5·reg·ΣW², in place on [dW, loss]. */
export const l2Op: OpDef<{ reg: number; lossIndex: number }> = {
  name: 'l2_regularization',
  outputs() { return []; },
  encode(scope, { inputs: [w], updates: [dw, loss] }, node) {
    return createL2Regularization(scope, { w: w!, dw: dw!, count: sizeOf(node.inputs[0]!.shape), reg: node.attrs.reg, loss: loss!, lossIndex: node.attrs.lossIndex });
  },
};

/** Adds the number of rows of scores [n, c] whose argmax equals y into the counter (an update). */
export const accuracyOp: OpDef = {
  name: 'accuracy',
  outputs() { return []; },
  encode(scope, { inputs: [scores, y], updates: [correct] }, node) {
    const [n, c] = node.inputs[0]!.shape as [number, number];
    return createAccuracy(scope, { scores: scores!, y: y!, n, c, correct: correct! });
  },
};

/** Rows `indices` of a data matrix: uint8 pixels minus the mean image, or f32/u32 rows copied as they are. */
export const gatherOp: OpDef<{ source: 'uint8' | 'words'; dim: number; rows: number }> = {
  name: 'gather',
  outputs([, indices], { dim, source }) {
    return [{ name: 'X batch', shape: dim === 1 ? [indices!.shape[0]!] : [indices!.shape[0]!, dim], dtype: source === 'words' && dim === 1 ? 'u32' : 'f32' }];
  },
  encode(scope, { inputs: [src, indices, mean], outputs: [out] }, node) {
    const { dim, rows, source } = node.attrs;
    const batch = node.inputs[1]!.shape[0]!;
    if (source === 'uint8') return createGather(scope, { images: src!, mean: mean!, indices: indices!, out: out!, batch, dim, count: rows });
    return createGatherRows(scope, { src: src!, indices: indices!, out: out!, batch, dim, rows });
  },
};

export type { Graph };
