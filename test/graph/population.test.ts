// A population's programs as graphs, built in Node without a GPU: the model axis in shapes, loss slots, the freeze before the update.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.ts';
import { makeStoreLayout, modelRanges } from '../../src/graph/store.ts';
import { buildClassifierProgram } from '../../src/nn/classifier.ts';
import { fcForward } from '../../src/nn/fc-net.ts';
import { batchedAffineOp } from '../../src/ops/batched-affine.ts';

const M = 5;
const dims = [12, 7, 3];
function populationSpec(regs: number[]) {
  const params = [
    { name: 'W1', shape: [M, 12, 7], data: new Float32Array(M * 84) },
    { name: 'b1', shape: [M * 7], data: new Float32Array(M * 7) },
    { name: 'gamma1', shape: [M * 7], data: new Float32Array(M * 7) },
    { name: 'beta1', shape: [M * 7], data: new Float32Array(M * 7) },
    { name: 'W2', shape: [M, 7, 3], data: new Float32Array(M * 21) },
    { name: 'b2', shape: [M * 3], data: new Float32Array(M * 3) },
  ];
  const state = ['runningMean1', 'runningVar1'].map((name) => ({ name, shape: [M * 7], data: new Float32Array(M * 7) }));
  const spec = { dims, normalization: 'batchnorm' as const, reg: 0, eps: 1e-5, momentum: 0.9, backwardVariant: 'graph' as const, regs };
  return { name: 'Pop', inputDim: 12, numClasses: 3, models: M, metadata: {}, params, state, forward: fcForward(spec) };
}

describe('population programs', () => {
  it('train: scores [batch, M·C], one loss slot run per model, the freeze in the fused head-and-loss node, one optimizer node', () => {
    const p = buildClassifierProgram(populationSpec([0, 0.1, 0, 0.2, 0]), { kind: 'train', batch: 8, rule: 'adam' });
    expect(p.scores!.shape).toEqual([8, M * 3]);
    // each model: its cross-entropy and two L2 terms (W1, W2)
    expect(p.loss!.shape).toEqual([M * 3]);
    const ops = p.graph.nodes.map((n) => n.op.name);
    // the hidden layer is a batched affine, the head (W2) is fused with the loss
    expect(ops.filter((o) => o === 'batched_affine')).toHaveLength(1);
    expect(ops.filter((o) => o === 'affine')).toHaveLength(0);
    expect(ops.at(-1)).toBe('optimizer');
    expect(ops).not.toContain('freeze');
    const l2 = p.graph.nodes.filter((n) => n.op.name === 'l2_losses');
    const regs = [0, 0.1, 0, 0.2, 0];
    expect(l2.map((n) => n.attrs)).toEqual([{ regs: [regs, regs], lossIndex: 1, lossStride: 3, models: M }]);
    const head = p.graph.nodes.find((n) => n.op.name === 'affine_softmax_loss')!;
    expect(head.id).toBeGreaterThan(l2[0]!.id); // the L2 slots are written before the freeze reads them
    expect(head.attrs).toEqual({ lossIndex: 0, models: M, lossStride: 3, freeze: true });
    const opt = p.graph.nodes.at(-1)!;
    expect(head.updates[1]).toBe(opt.inputs[2]); // the alive flags the optimizer reads
    expect(opt.attrs).toEqual({ rule: 'adam', models: M, regs: [regs, 0, 0, 0, regs, 0] });
    // the first layer reads the shared rows; its input gets no gradient, the hidden one does
    const grads = p.graph.nodes.filter((n) => n.op.name === 'batched_affine_grad');
    expect(grads.map((n) => n.attrs)).toEqual([{ withDx: true }, { withDx: false }]);
    // the grads program keeps one l2 node per W (its dW hold reg·W) and no freeze
    const gp = buildClassifierProgram(populationSpec(regs), { kind: 'grads', batch: 8 });
    expect(gp.graph.nodes.filter((n) => n.op.name === 'l2_regularization').map((n) => n.attrs)).toEqual([
      { reg: regs, lossIndex: 1, lossStride: 3 },
      { reg: regs, lossIndex: 2, lossStride: 3 },
    ]);
    expect((gp.graph.nodes.find((n) => n.op.name === 'affine_softmax_loss')!.attrs as { freeze: boolean }).freeze).toBe(false);
  });

  it('accuracy counts per model; no reg: no L2 nodes, one slot per model', () => {
    const acc = buildClassifierProgram(populationSpec([0, 0, 0, 0, 0]), { kind: 'accuracy', batch: 10 });
    expect(acc.correct!.shape).toEqual([M]);
    expect(acc.graph.nodes.at(-1)!.attrs).toEqual({ models: M });
    const train = buildClassifierProgram(populationSpec([0, 0, 0, 0, 0]), { kind: 'train', batch: 4, rule: 'sgd' });
    expect(train.loss!.shape).toEqual([M]);
    expect(train.graph.nodes.some((n) => n.op.name === 'l2_regularization' || n.op.name === 'l2_losses')).toBe(false);
  });

  it('a population needs one reg per model; batched_affine names wrong shapes', () => {
    expect(() => buildClassifierProgram(populationSpec([0, 1]), { kind: 'grads', batch: 4 })).toThrow(/needs one reg per model \(5\)/);
    const g = new Graph();
    const W = g.value('W', [3, 4, 2], 'param');
    const b = g.value('b', [6], 'param');
    expect(g.apply(batchedAffineOp, [g.value('x', [5, 4], 'data'), W, b])[0]!.shape).toEqual([5, 6]);
    expect(g.apply(batchedAffineOp, [g.value('h', [5, 12], 'activation'), W, b])[0]!.shape).toEqual([5, 6]);
    expect(() => g.apply(batchedAffineOp, [g.value('x', [5, 5], 'data'), W, b])).toThrow(
      /x has shape \[5,5\], expected \[\*, 4\] \(shared\) or \[\*, 12\]/,
    );
    expect(() => g.apply(batchedAffineOp, [g.value('x', [5, 4], 'data'), g.value('W2', [4, 2], 'param'), b])).toThrow(
      /expected \[models, in, out\]/,
    );
    expect(() => g.apply(batchedAffineOp, [g.value('x', [5, 4], 'data'), W, g.value('b2', [2], 'param')])).toThrow(
      /b has shape \[2\], expected \[6\]/,
    );
  });

  it('modelRanges: model k owns the k-th of M equal blocks of every tensor', () => {
    const layout = makeStoreLayout([
      { name: 'W', shape: [3, 2, 2] },
      { name: 'b', shape: [6] },
    ]);
    expect(modelRanges(layout, 3, 0)).toEqual([
      [0, 4],
      [64, 66],
    ]);
    expect(modelRanges(layout, 3, 2)).toEqual([
      [8, 12],
      [68, 70],
    ]);
    expect(modelRanges(layout, 1, 0)).toEqual([
      [0, 12],
      [64, 70],
    ]);
  });
});
