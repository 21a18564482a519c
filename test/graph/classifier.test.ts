// The FC net's programs as graphs, built in Node without a GPU: the training step is one graph ending in one optimizer node.
import { describe, expect, it } from 'vitest';
import { buildClassifierProgram } from '../../src/nn/classifier.ts';
import { fcForward } from '../../src/nn/fc-net.ts';
import { residualForward } from '../../src/nn/residual-mlp.ts';
import { FullyConnectedNeuralNet } from '../../src/reference/fc-net.ts';
import { ResidualMLP } from '../../src/reference/residual-mlp.ts';
import type { DataSplit } from '../../src/graph/model-definition.ts';

const split: DataSplit = { name: 'XTrain', rows: 1000, buffers: {}, source: { format: 'uint8', chunkRows: 400 } };

function fcSpec(useBatchnorm: boolean, reg = 0) {
  const ref = new FullyConnectedNeuralNet([100, 100, 100, 100, 100], { useBatchnorm, reg });
  const tensors = Object.entries(ref.namedTensors()).map(([name, t]) => ({ name, shape: [...t.shape], data: t.data }));
  const spec = {
    dims: [3072, 100, 100, 100, 100, 100, 10],
    normalization: useBatchnorm ? ('batchnorm' as const) : null,
    reg,
    eps: 1e-5,
    momentum: 0.9,
    backwardVariant: 'alternative' as const,
  };
  return {
    name: 'FC',
    inputDim: 3072,
    numClasses: 10,
    metadata: {},
    forward: fcForward(spec),
    params: tensors.filter((t) => !t.name.startsWith('running')),
    state: tensors.filter((t) => t.name.startsWith('running')),
  };
}

describe('classifier programs', () => {
  it('train: gathers first (rows and labels in one node, one launch per data chunk), the optimizer last and once, reading every gradient and updating every parameter', () => {
    const spec = fcSpec(true);
    const p = buildClassifierProgram(spec, { kind: 'train', batch: 50, split, rule: 'adam' });
    const ops = p.graph.nodes.map((n) => n.op.name);
    expect(ops[0]).toBe('gather_batch');
    expect(ops.filter((o) => o.startsWith('gather'))).toHaveLength(1);
    expect(p.graph.nodes[0]!.outputs.map((v) => [v.name, v.dtype])).toEqual([
      ['X batch', 'f32'],
      ['y batch', 'u32'],
    ]);
    expect(p.graph.nodes[0]!.inputs.filter((v) => /^X\d$/.test(v.name)).map((v) => v.name)).toEqual(['X0', 'X1', 'X2']); // 1000 rows in chunks of 400
    expect(ops.filter((o) => o === 'optimizer')).toHaveLength(1);
    expect(ops.at(-1)).toBe('optimizer');
    // each hidden layer is one affine + batchnorm + ReLU op: no separate relu or batchnorm nodes in the batchnorm net
    expect(ops.filter((o) => o === 'relu' || o === 'relu_grad' || o === 'batchnorm')).toHaveLength(0);
    expect(ops.filter((o) => o === 'affine_batchnorm')).toHaveLength(5);
    const opt = p.graph.nodes.at(-1)!;
    const names = spec.params.map((t) => t.name);
    expect(opt.inputs.slice(0, 3).map((v) => v.name)).toEqual(['hyper', 'rates', 'alive']);
    expect(opt.inputs.slice(3)).toEqual(names.map((n) => p.grads[n]));
    expect(opt.updates.slice(0, names.length).map((v) => v.name)).toEqual(names);
    expect(opt.updates.slice(names.length).map((v) => v.name)).toEqual([...names.map((n) => `m/${n}`), ...names.map((n) => `v/${n}`)]);
    // every gradient is written before the optimizer reads it
    for (const g of Object.values(p.grads)) expect(g.producer!.id).toBeLessThan(opt.id);
    expect(p.feeds.indices!.shape).toEqual([50]);
    expect(p.loss!.shape).toEqual([1]);
    // the head (50 x 10 x 100) is fused with the loss, and its backward is the affine's: no plain affine node is left
    expect(ops.filter((o) => o === 'affine')).toHaveLength(0);
    expect(ops).not.toContain('softmax_loss');
    const head = p.graph.nodes.find((n) => n.op.name === 'affine_softmax_loss')!;
    expect(head.inputs.slice(1).map((v) => v.name)).toEqual(['W6', 'b6', 'y batch']);
    expect(p.scores).toBe(head.outputs[0]);
    expect(p.graph.nodes.filter((n) => n.op.name === 'affine_grad' && n.inputs[1]!.name === 'W6')).toHaveLength(1);
  });

  it('L2 in a training step: one l2_losses node before the loss (slots per chunk of W), the gradient terms in the optimizer', () => {
    const p = buildClassifierProgram(fcSpec(true, 0.1), { kind: 'train', batch: 50, split, rule: 'sgd' });
    const ops = p.graph.nodes.map((n) => n.op.name);
    expect(ops).not.toContain('l2_regularization');
    expect(ops.indexOf('l2_losses')).toBeLessThan(ops.indexOf('affine_softmax_loss'));
    const l2 = p.graph.nodes.find((n) => n.op.name === 'l2_losses')!;
    expect(l2.inputs.map((v) => v.name)).toEqual(['W1', 'W2', 'W3', 'W4', 'W5', 'W6']);
    // W1 (307200 elements) takes 19 slots of 16384, the others one each
    expect(p.loss!.shape).toEqual([1 + 19 + 5]);
    expect(l2.attrs).toEqual({ regs: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1], lossIndex: 1, lossStride: 25, models: 1 });
    const opt = p.graph.nodes.at(-1)! as unknown as { attrs: { regs: number[] }; updates: { name: string }[] };
    const names = opt.updates.slice(0, opt.attrs.regs.length).map((v) => v.name);
    expect(opt.attrs.regs).toEqual(names.map((n) => (n.startsWith('W') ? 0.1 : 0)));
    // a batch too large for one workgroup's head keeps the head's affine and the plain softmax loss (the hidden layers
    // stay affine_batchnorm nodes: their encoder plans the unfused kernels at this batch)
    const big = buildClassifierProgram(fcSpec(true), { kind: 'train', batch: 1000, split, rule: 'sgd' }).graph.nodes.map((n) => n.op.name);
    expect(big.filter((o) => o === 'affine')).toHaveLength(1);
    expect(big.filter((o) => o === 'affine_batchnorm')).toHaveLength(5);
    expect(big).toContain('softmax_loss');
    const unfused = buildClassifierProgram({ ...fcSpec(true), fuseHead: false }, { kind: 'train', batch: 50, split, rule: 'sgd' });
    expect(unfused.graph.nodes.map((n) => n.op.name)).toContain('softmax_loss');
  });

  it('loss slots follow the L2 terms; grads has no optimizer; test programs have no backward', () => {
    const withReg = buildClassifierProgram(fcSpec(false, 0.1), { kind: 'grads', batch: 8 });
    expect(withReg.loss!.shape).toEqual([7]); // data loss + one L2 term per W
    expect(withReg.graph.nodes.map((n) => n.op.name)).not.toContain('optimizer');
    expect(Object.keys(withReg.feeds).sort()).toEqual(['X', 'y']);
    const scores = buildClassifierProgram(fcSpec(true), { kind: 'scores', batch: 8 });
    expect(scores.graph.nodes.every((n) => !n.op.name.endsWith('_grad'))).toBe(true);
    expect(scores.scores!.shape).toEqual([8, 10]);
    const acc = buildClassifierProgram(fcSpec(true), { kind: 'accuracy', batch: 8, split });
    expect(acc.graph.nodes.at(-1)!.op.name).toBe('accuracy');
  });

  it('the residual block: h feeds the skip and the block, so its gradient is one add of two', () => {
    const ref = new ResidualMLP(32, { inputDim: 12, numClasses: 3 });
    const spec = {
      name: 'Res',
      inputDim: 12,
      numClasses: 3,
      metadata: {},
      state: [],
      forward: residualForward(0),
      params: Object.entries(ref.namedTensors()).map(([name, t]) => ({ name, shape: [...t.shape], data: t.data })),
    };
    const p = buildClassifierProgram(spec, {
      kind: 'train',
      batch: 16,
      split: { ...split, rows: 64, source: { format: 'words', chunkRows: 64 } },
      rule: 'sgd',
    });
    const adds = p.graph.nodes.filter((n) => n.op.name === 'add');
    expect(adds).toHaveLength(2); // the forward skip, and the accumulation of h's two gradients
    const h = adds[0]!.inputs[0]!;
    expect(p.graph.nodes.filter((n) => n.op.name !== 'relu_grad' && n.inputs.includes(h)).map((n) => n.op.name)).toEqual([
      'affine',
      'add',
      'affine_grad',
    ]);
    expect(adds[1]!.inputs.map((v) => v.kind)).toEqual(['grad', 'grad']);
    // the summed gradient goes on through h's ReLU
    expect(p.graph.nodes.find((n) => n.inputs.includes(adds[1]!.outputs[0]!))!.op.name).toBe('relu_grad');
  });
});
