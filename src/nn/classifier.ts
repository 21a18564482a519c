// The programs every classifier shares, around a model's forward pass: rows in, the head and softmax loss, L2, autodiff, the update, accuracy.
import type { GpuScope } from '../gpu/buffers.ts';
import { addBackward } from '../graph/autodiff.ts';
import { expectShape, Graph, sizeOf, type Value } from '../graph/graph.ts';
import {
  aliveValueName,
  hyperValueName,
  ratesValueName,
  slotValueName,
  type DataSplit,
  type ModelDefinition,
  type ProgramGraph,
  type ProgramRequest,
  type TensorInit,
} from '../graph/model-definition.ts';
import { accuracyOp } from '../ops/accuracy.ts';
import { affineOp } from '../ops/affine.ts';
import { batchedAffineOp } from '../ops/batched-affine.ts';
import { addOp } from '../ops/elementwise.ts';
import { gatherBatchOp } from '../ops/gather.ts';
import { createUpdateRuleState, optimizerOp } from '../ops/optim.ts';
import { l2LossesOp, l2Op, makeL2LossSlots } from '../ops/regularization.ts';
import { softmaxLossOp } from '../ops/softmax.ts';
import { affineSoftmaxLossOp, planHead } from '../ops/softmax-affine.ts';
import { updateRules, type OptimizerRule } from '../ops/update-rules.ts';
import type { SolverData } from '../solver/model.ts';
import { uploadSplit, type UploadOptions } from './data-on-gpu.ts';

/** What a forward pass is given: the graph, the mode, the model's tensors by name, and a way to add an L2 term. */
export interface ForwardContext {
  g: Graph;
  /** 'train' (batch statistics, backward follows) or 'test' (running statistics). */
  mode: 'train' | 'test';
  /** The value of parameter `name` (declared once per graph). */
  param(name: string): Value;
  /** The value of state tensor `name` (running statistics). */
  state(name: string): Value;
  /** Add 0.5·reg·ΣW² to the loss and reg·W to W's gradient (a population: one reg per model, W stacks their blocks). */
  penalize(w: Value, reg: number | readonly number[]): void;
}

/**
 * The class scores as a model's last affine layer leaves them, x·W + b (W [d, c], or [models, d, c] for a population),
 * for the classifier to apply: in a training step fused with the softmax loss where the plan allows (`planHead`).
 */
export interface AffineHead {
  x: Value;
  W: Value;
  b: Value;
  /** The affine's options (src/ops/affine.ts `AffineAttrs`), e.g. `{ grouped: false }` to keep its backward unfused. */
  attrs?: { grouped?: boolean };
}

const isHead = (v: Value | AffineHead): v is AffineHead => 'W' in v;

/** A classifier described by its tensors (with initial values) and its forward pass from rows to class scores. */
export interface ClassifierSpec {
  name: string;
  inputDim: number;
  numClasses: number;
  /**
   * A population (default 1): every tensor stacks this many models' blocks, `forward` gives scores
   * [batch, models·numClasses] (model k's classes in columns k·numClasses..), and the loss, L2 terms, the
   * update and the accuracy count are per model.
   */
  models?: number;
  params: TensorInit[];
  state: TensorInit[];
  /** Class scores [batch, models·numClasses] of rows x [batch, inputDim], or the last affine layer that makes them. */
  forward(ctx: ForwardContext, x: Value): Value | AffineHead;
  /** false: never fuse the head with the loss (default true: where `planHead` allows). */
  fuseHead?: boolean;
  metadata: Record<string, string>;
  /** How the Solver's data goes up (the largest chunk of rows; default: the device's binding limit). */
  upload?: UploadOptions;
}

/** Rows x (and labels y) of a program: gathered from a split by fed indices, or fed directly. */
function rowsOf(g: Graph, spec: ClassifierSpec, r: ProgramRequest, feeds: Record<string, Value>): { x: Value; y?: Value } {
  const D = spec.inputDim;
  if (!r.split) {
    const x = (feeds.X = g.value('X', [r.batch, D], 'data'));
    return r.kind === 'scores' ? { x } : { x, y: (feeds.y = g.value('y', [r.batch], 'data', 'u32')) };
  }
  // the rows come in chunks of whole rows, each one storage binding (X0 holds every row when they fit one)
  const { rows } = r.split;
  const format = r.split.source.format as 'uint8' | 'words';
  const chunkRows = r.split.source.chunkRows as number;
  const chunks = Math.ceil(rows / chunkRows);
  const X = Array.from({ length: chunks }, (_, c) => {
    const n = Math.min(chunkRows, rows - c * chunkRows);
    return g.value(`X${c}`, [format === 'uint8' ? Math.ceil((n * D) / 4) : n * D], 'data', 'u32');
  });
  const indices = (feeds.indices = g.value('indices', [r.batch], 'data', 'u32'));
  const labels = g.value('y', [rows], 'data', 'u32');
  const mean = format === 'uint8' ? [g.value('meanImage', [D], 'data')] : [];
  // rows and labels by the same indices: one launch per chunk of rows, the labels in the first
  const [x, y] = g.apply(gatherBatchOp, [...X, indices, labels, ...mean], { format, dim: D, rows, chunks, chunkRows });
  x!.noGrad = true;
  return { x: x!, y };
}

/**
 * Build one program's graph around `spec.forward`: 'train' and 'grads' add the softmax loss (with the head fused in
 * front where the plan allows), the L2 terms and the backward pass ('train' also the optimizer node: one dispatch for
 * every parameter, L2's gradient terms folded in); 'accuracy' the count of right answers.
 *   const { graph, grads } = buildClassifierProgram(spec, { kind: 'train', batch: 50, split, rule: 'adam' });
 *   grads.W1; // the gradient value the model binds to its gradient store
 */
export function buildClassifierProgram(spec: ClassifierSpec, r: ProgramRequest): ProgramGraph {
  const g = new Graph();
  const declared = new Map<string, Value>();
  const tensors = new Map([...spec.params.map((t) => [t.name, t] as const), ...spec.state.map((t) => [t.name, t] as const)]);
  const isParam = new Set(spec.params.map((t) => t.name));
  const declare = (name: string, kind: 'param' | 'state') => {
    const t = tensors.get(name);
    if (!t || isParam.has(name) !== (kind === 'param')) throw new Error(`${spec.name}: no ${kind} named ${name}`);
    let v = declared.get(name);
    if (!v) declared.set(name, (v = g.value(name, t.shape, kind)));
    return v;
  };
  const M = spec.models ?? 1;
  const penalties: { w: Value; reg: number | readonly number[] }[] = [];
  const mode = r.kind === 'train' || r.kind === 'grads' ? 'train' : 'test';
  const penalize = (w: Value, reg: number | readonly number[]) => {
    if (M > 1 && (typeof reg === 'number' || reg.length !== M))
      throw new Error(`${spec.name}: penalize(${w.name}) needs one reg per model (${M})`);
    penalties.push({ w, reg });
  };
  const ctx: ForwardContext = { g, mode, param: (n) => declare(n, 'param'), state: (n) => declare(n, 'state'), penalize };
  const feeds: Record<string, Value> = {};
  const { x, y } = rowsOf(g, spec, r, feeds);
  const result = spec.forward(ctx, x);
  const head = isHead(result) ? result : null;
  const affine = (hd: AffineHead) => g.apply(hd.W.shape.length === 3 ? batchedAffineOp : affineOp, [hd.x, hd.W, hd.b], hd.attrs ?? {})[0]!;
  const out: ProgramGraph = { graph: g, feeds, grads: {} };
  const keepScores = (scores: Value) => {
    expectShape(spec.name, 'scores', scores.shape, [r.batch, M * spec.numClasses]);
    scores.keep = true;
    out.scores = scores;
    return scores;
  };
  if (mode === 'test') {
    const scores = keepScores(head ? affine(head) : (result as Value));
    if (r.kind === 'accuracy') {
      out.correct = g.value('correct', [M], 'state', 'u32');
      g.apply(accuracyOp, [scores, y!], { models: M }, [out.correct]);
    }
    return out;
  }
  // loss slots: model k's are k·S .. k·S + S - 1: its cross-entropy, then its L2 terms ('train': every term's chunk
  // sums from one launch before the loss, the gradient terms in the optimizer; 'grads': one l2 node per W after the backward)
  const train = r.kind === 'train';
  const l2Slots = train ? makeL2LossSlots(penalties.map((p) => sizeOf(p.w.shape) / M)) : penalties.map(() => 1);
  const S = 1 + l2Slots.reduce((a, b) => a + b, 0);
  const loss = (out.loss = g.value('loss', [M * S], 'state'));
  if (train && penalties.length)
    g.apply(
      l2LossesOp,
      penalties.map((p) => p.w),
      { regs: penalties.map((p) => p.reg), lossIndex: 1, lossStride: S, models: M },
      [loss],
    );
  // a population's step freezes a model whose slots turn non-finite, in the loss launch (the L2 slots are written by then)
  const alive = train ? g.value(aliveValueName, [M], 'state', 'u32') : null;
  const freeze = train && M > 1;
  const lossAttrs = { lossIndex: 0, models: M, lossStride: S, freeze };
  const lossUpdates = freeze ? [loss, alive!] : [loss];
  const [d, C] = head ? (head.W.shape.slice(-2) as [number, number]) : [0, 0];
  let scores: Value;
  let dscores: Value;
  if (head && spec.fuseHead !== false && planHead(r.batch, C, d) === true) {
    [scores, dscores] = g.apply(affineSoftmaxLossOp, [head.x, head.W, head.b, y!], { ...lossAttrs, ...head.attrs }, lossUpdates) as [
      Value,
      Value,
    ];
    keepScores(scores);
  } else {
    scores = keepScores(head ? affine(head) : (result as Value));
    [dscores] = g.apply(softmaxLossOp, [scores, y!], lossAttrs, lossUpdates) as [Value];
  }
  const params = spec.params.map((t) => ctx.param(t.name));
  const grads = addBackward(g, new Map([[scores, dscores]]), params, { add: addOp });
  params.forEach((p) => {
    out.grads[p.name] = grads.get(p)!;
  });
  if (!train) {
    penalties.forEach(({ w, reg }, i) => g.apply(l2Op, [w], { reg, lossIndex: i + 1, lossStride: S }, [grads.get(w)!, loss]));
    return out;
  }
  const rule = r.rule as OptimizerRule;
  const slots = updateRules[rule].slots.flatMap((s) => params.map((p) => g.value(slotValueName(s, p.name), p.shape, 'state')));
  // each parameter's strength(s) for the update (a W penalized twice steps on the sum, as its two l2 nodes added)
  const regOf = new Map<Value, number[]>();
  for (const { w, reg } of penalties) {
    const prev = regOf.get(w) ?? new Array<number>(M).fill(0);
    regOf.set(
      w,
      prev.map((r, k) => r + (typeof reg === 'number' ? reg : reg[k]!)),
    );
  }
  const regs = params.map((p) => regOf.get(p) ?? 0).map((r) => (typeof r !== 'number' && M === 1 ? r[0]! : r));
  const rule0 = [g.value(hyperValueName, [1], 'state'), g.value(ratesValueName, [M], 'state'), alive!];
  g.apply(optimizerOp, [...rule0, ...params.map((p) => grads.get(p)!)], { rule, models: M, regs }, [...params, ...slots]);
  return out;
}

/**
 * A model definition for GraphModel from a classifier's forward pass: its programs, the Solver's data upload
 * (uint8 pixels stay uint8 on the GPU), the direct rows of `loss(X, y)`, the update rules.
 *   const model = new GraphModel(gpu, makeClassifier({ name: 'MyNet', inputDim: 3072, numClasses: 10, params, state: [], forward, metadata: {} }));
 *   await model.loss(X, y);
 */
export function makeClassifier(spec: ClassifierSpec): ModelDefinition {
  const { inputDim: D, numClasses: C } = spec;
  return {
    name: spec.name,
    models: spec.models ?? 1,
    params: spec.params,
    state: spec.state,
    metadata: spec.metadata,
    build: (r) => buildClassifierProgram(spec, r),
    uploadData(scope: GpuScope, input: unknown) {
      const data = input as SolverData;
      const anyU8 = data.XTrain.data instanceof Uint8Array || data.XVal.data instanceof Uint8Array;
      if (anyU8 && !data.meanImage) throw new Error('attachData: uint8 images need data.meanImage');
      if (data.meanImage && data.meanImage.length !== D)
        throw new Error(`attachData: meanImage has ${data.meanImage.length} values, the net takes inputDim ${D}`);
      const meanImage = scope.createTensorBuffer(data.meanImage ? Float32Array.from(data.meanImage) : new Float32Array(D), 'mean image');
      const split = (X: SolverData['XTrain'], y: ArrayLike<number>, name: string): DataSplit => {
        const s = uploadSplit(scope, X, y, name, D, C, spec.upload);
        const chunks = Object.fromEntries(s.X.map((b, c) => [`X${c}`, b]));
        return { name, rows: s.rows, buffers: { ...chunks, y: s.y, meanImage }, source: { format: s.format, chunkRows: s.chunkRows } };
      };
      return { train: split(data.XTrain, data.yTrain, 'XTrain'), val: split(data.XVal, data.yVal, 'XVal') };
    },
    directFeeds(X, y): { batch: number; feeds: Record<string, Float32Array | Uint32Array> } {
      const n = X.shape[0]!;
      const d = X.data.length / n;
      if (d !== D) throw new Error(`${spec.name}: X has shape [${X.shape.join(',')}] (${d} features per row), expected inputDim ${D}`);
      if (y === undefined) return { batch: n, feeds: { X: Float32Array.from(X.data) } };
      if (y.length !== n) throw new Error(`${spec.name}: ${y.length} labels for ${n} rows`);
      const labels = Uint32Array.from(y);
      labels.forEach((c, i) => {
        if (c >= C) throw new Error(`${spec.name}.loss: label ${c} at row ${i} is outside 0..${C - 1}`);
      });
      return { batch: n, feeds: { X: Float32Array.from(X.data), y: labels } };
    },
    createUpdateState: (scope, rule, config, layout, models) =>
      createUpdateRuleState(scope, rule as OptimizerRule, config, layout, 'setUpdateRule', models),
  };
}
