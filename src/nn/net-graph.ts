// Builds the graphs of a FullyConnectedNeuralNet: {affine - [batchnorm | layernorm] - relu} x (L-1) - affine - softmax, train or test.
import { addBackward } from '../graph/autodiff.ts';
import { Graph, type Value } from '../graph/graph.ts';
import type { Normalization } from '../reference/fc-net.ts';
export type { Normalization };
import { affineOp, batchNormOp, layerNormOp, l2Op, reluOp, softmaxLossOp, accuracyOp, gatherOp } from '../graph/ops.ts';

export interface NetSpec {
  dims: number[];
  /** The layer before each ReLU: batchnorm (running statistics as state), layernorm, or none. */
  normalization: Normalization;
  reg: number;
  eps: number;
  momentum: number;
  backwardVariant: 'graph' | 'alternative';
}

/** The model-owned values of one graph, by name: params, grads of params, running stats, data inputs, loss slots. */
export interface NetValues {
  params: Record<string, Value>;
  grads: Record<string, Value>;
  runningMean: Value[];
  runningVar: Value[];
  inputs: Record<string, Value>;
  loss?: Value;
  correct?: Value;
  scores: Value;
}

/** Where the rows come from: a gather from uploaded data by indices, or a matrix given directly. */
export type RowSource =
  | { kind: 'gather'; format: 'uint8' | 'words'; rows: number; batch: number; /** rows per data chunk (= rows: one chunk) */ chunkRows: number }
  | { kind: 'direct'; batch: number };

export type GraphKind = 'train' | 'scores' | 'accuracy';

/**
 * Build one graph of the net. 'train': forward in train mode, softmax loss, backward (autodiff) and L2;
 * 'scores': test-mode forward; 'accuracy': test-mode forward plus the argmax-accuracy counter.
 *   const { graph, values } = buildNetGraph(spec, 'train', { kind: 'gather', format: 'uint8', rows: 1000, batch: 50, chunkRows: 1000 });
 *   values.grads.W1; // the Value the optimizer reads
 */
export function buildNetGraph(spec: NetSpec, kind: GraphKind, source: RowSource): { graph: Graph; values: NetValues } {
  const g = new Graph();
  const L = spec.dims.length - 1;
  const D = spec.dims[0]!;
  const B = source.batch;
  const params: Record<string, Value> = {};
  for (let l = 1; l <= L; l++) {
    params[`W${l}`] = g.value(`W${l}`, [spec.dims[l - 1]!, spec.dims[l]!], 'param');
    params[`b${l}`] = g.value(`b${l}`, [spec.dims[l]!], 'param');
  }
  const runningMean: Value[] = [];
  const runningVar: Value[] = [];
  if (spec.normalization !== null) {
    for (let l = 1; l < L; l++) {
      params[`gamma${l}`] = g.value(`gamma${l}`, [spec.dims[l]!], 'param');
      params[`beta${l}`] = g.value(`beta${l}`, [spec.dims[l]!], 'param');
      if (spec.normalization !== 'batchnorm') continue;
      runningMean.push(g.value(`runningMean${l}`, [spec.dims[l]!], 'state'));
      runningVar.push(g.value(`runningVar${l}`, [spec.dims[l]!], 'state'));
    }
  }
  const inputs: Record<string, Value> = {};
  let x: Value;
  let y: Value | undefined;
  if (source.kind === 'gather') {
    // the rows come in chunks of whole rows, each one storage binding (X0 holds every row when they fit one)
    const { rows, chunkRows } = source;
    const chunks = Math.ceil(rows / chunkRows);
    const X: Value[] = [];
    for (let c = 0; c < chunks; c++) {
      const n = Math.min(chunkRows, rows - c * chunkRows);
      X.push(inputs[`X${c}`] = g.value(`X${c}`, [source.format === 'uint8' ? Math.ceil((n * D) / 4) : n * D], 'data', 'u32'));
    }
    inputs.y = g.value('y', [rows], 'data', 'u32');
    inputs.indices = g.value('indices', [B], 'data', 'u32');
    const gatherInputs = [...X, inputs.indices];
    if (source.format === 'uint8') gatherInputs.push(inputs.mean = g.value('meanImage', [D], 'data'));
    [x] = g.apply(gatherOp, gatherInputs, { source: source.format, dim: D, rows, chunks, chunkRows });
    [y] = g.apply(gatherOp, [inputs.y, inputs.indices], { source: 'words', dim: 1, rows, chunks: 1, chunkRows: rows });
    x!.noGrad = true;
  } else {
    x = inputs.X = g.value('X', [B, D], 'data');
    if (kind !== 'scores') y = inputs.y = g.value('y', [B], 'data', 'u32');
  }
  const mode = kind === 'train' ? 'train' : 'test';
  let h = x!;
  for (let l = 1; l < L; l++) {
    [h] = g.apply(affineOp, [h, params[`W${l}`]!, params[`b${l}`]!]);
    if (spec.normalization === 'batchnorm') {
      [h] = g.apply(batchNormOp, [h!, params[`gamma${l}`]!, params[`beta${l}`]!],
        { mode, eps: spec.eps, momentum: spec.momentum, variant: spec.backwardVariant }, [runningMean[l - 1]!, runningVar[l - 1]!]);
    } else if (spec.normalization === 'layernorm') {
      [h] = g.apply(layerNormOp, [h!, params[`gamma${l}`]!, params[`beta${l}`]!], { eps: spec.eps });
    }
    [h] = g.apply(reluOp, [h!]);
  }
  const [scores] = g.apply(affineOp, [h, params[`W${L}`]!, params[`b${L}`]!]);
  scores!.keep = true;
  const values: NetValues = { params, grads: {}, runningMean, runningVar, inputs, scores: scores! };
  if (kind === 'train') {
    const loss = values.loss = g.value('loss', [L + 1], 'state');
    const [dscores] = g.apply(softmaxLossOp, [scores!, y!], { lossIndex: 0 }, [loss]);
    const grads = addBackward(g, new Map([[scores!, dscores!]]), Object.values(params));
    for (const [name, p] of Object.entries(params)) {
      const gv = grads.get(p)!;
      gv.keep = true;
      values.grads[name] = gv;
    }
    if (spec.reg > 0) {
      for (let l = 1; l <= L; l++) g.apply(l2Op, [params[`W${l}`]!], { reg: spec.reg, lossIndex: l }, [values.grads[`W${l}`]!, loss]);
    }
  } else if (kind === 'accuracy') {
    values.correct = g.value('correct', [1], 'state', 'u32');
    g.apply(accuracyOp, [scores!, y!], {}, [values.correct]);
  }
  return { graph: g, values };
}
