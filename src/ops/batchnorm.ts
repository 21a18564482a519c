// Batch normalization on the GPU, device-resident: forward (train/test) and backward (graph/alternative) side by side.
import forwardModule from '../../shaders/batchnorm-forward.wgsl?raw';
import backwardModule from '../../shaders/batchnorm-backward.wgsl?raw';
import columnsWgsl from '../../shaders/lib/columns.wgsl?raw';
import { createBindGroup, getKernel, linkWgsl, type Kernel } from '../gpu/kernel.ts';
import { gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount, columnTiling, type ColumnTiling } from './op-checks.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';

/** Where train-mode forward leaves what backward needs: mean and invStd [d], xhat [n, d]. */
export interface BatchNormSaved {
  mean: TensorRef;
  invStd: TensorRef;
  xhat: TensorRef;
}

export interface BatchNormForwardArgs {
  x: TensorRef;
  gamma: TensorRef;
  beta: TensorRef;
  out: TensorRef;
  runningMean: TensorRef;
  runningVar: TensorRef;
  n: number;
  d: number;
  mode: 'train' | 'test';
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Weight of the old running value; default 0.9. */
  momentum?: number;
  saved?: BatchNormSaved;
  /** Fuse a ReLU behind: out = max(0, gamma * xhat + beta). */
  relu?: boolean;
}

/** What a normalization's backward reads and writes over an [n, d] array (batchnorm and layer norm alike). */
export interface NormBackwardArgs {
  dout: TensorRef;
  xhat: TensorRef;
  invStd: TensorRef;
  gamma: TensorRef;
  dx: TensorRef;
  dgamma: TensorRef;
  dbeta: TensorRef;
  n: number;
  d: number;
}

export interface BatchNormBackwardArgs extends NormBackwardArgs {
  /** 'graph': the staged computational graph, one pass per node group; 'alternative': the closed form. */
  variant: 'graph' | 'alternative';
  /** With `mean`, the graph takes x - mean from them (the seed's cache) instead of xhat / invStd. */
  x?: TensorRef;
  mean?: TensorRef;
  /** The output of a forward with `relu`: dout is then the gradient of the ReLU's output, masked by reluOut > 0 on the fly. */
  reluOut?: TensorRef;
}

/** The two kernel files with the shared column helpers linked in front. */
const forwardWgsl = linkWgsl(columnsWgsl, forwardModule);
const backwardWgsl = linkWgsl(columnsWgsl, backwardModule);

const wgElementwise = 256;
/** Workgroup size of the one-chunk column kernels: 8 invocations of 4 columns (d = 100 is 4 workgroups). */
const wgColumns = 8;

/** Grid of a column kernel over d columns, `perInvocation` (4 or 8) per invocation. */
function columnGrid(d: number, perInvocation = 4): [number, number, number] {
  return gridFor(Math.ceil(d / perInvocation), wgColumns);
}

function tileConstants(t: ColumnTiling): Record<string, number> {
  return { COLS: t.cols, ROWS: t.rows };
}

function dispatch(
  scope: GpuScope,
  kernel: Kernel,
  resources: Record<string, TensorRef>,
  workgroups: [number, number, number],
  label: string,
): Dispatch {
  return { kernel, bindGroup: createBindGroup(scope.ctx, kernel, resources), workgroups, label };
}

/**
 * Record batchnorm forward for x [n, d]. Train: batch mean and biased variance per feature (two-pass; in
 * row chunks + Chan merge for big batches), out = gamma * xhat + beta, running statistics moved by
 * momentum, and `saved` (mean, invStd, xhat) written when given; one dispatch when the batch is one chunk
 * (n < 512). Test: normalizes with the running statistics.
 *   const fwd = await createBatchNormForward(scope, { x, gamma, beta, out, runningMean, runningVar, n: 50, d: 100, mode: 'train', saved });
 *   await runDispatches(gpu, fwd);
 */
export async function createBatchNormForward(scope: GpuScope, a: BatchNormForwardArgs): Promise<Dispatch[]> {
  const { n, d } = a;
  const op = `batchnorm.forward(${a.mode}${a.relu ? '+relu' : ''}) n=${n} d=${d}`;
  assertCount(op, 'n', n);
  assertCount(op, 'd', d);
  if (a.mode !== 'train' && a.mode !== 'test') throw new Error(`${op}: mode must be "train" or "test", got ${JSON.stringify(a.mode)}`);
  for (const [name, buf] of [
    ['x', a.x],
    ['out', a.out],
  ] as const)
    assertBuffer(op, name, buf, n * d);
  for (const [name, buf] of [
    ['gamma', a.gamma],
    ['beta', a.beta],
    ['runningMean', a.runningMean],
    ['runningVar', a.runningVar],
  ] as const) {
    assertBuffer(op, name, buf, d);
  }
  const eps = a.eps ?? 1e-5;
  const momentum = a.momentum ?? 0.9;
  const elementwise = gridFor(n * d, wgElementwise);

  if (a.mode === 'test') {
    // an invocation: 4 columns x `rows` rows (fewer rows on a GPU: more invocations)
    const rows = Math.max(isCpuAdapter(scope.ctx.adapter) ? 64 : 8, Math.ceil(n / maxWorkgroupsPerDim));
    const kernel = await getKernel(scope.ctx, {
      name: 'batchnorm-forward',
      source: forwardWgsl,
      entryPoint: 'normalizeTest',
      constants: { WG: wgColumns, RELU: a.relu ? 1 : 0 },
    });
    const params = scope.createUniformBuffer(kernel, 'params', { n, d, chunkRows: rows, chunks: 1, eps, momentum }, `${op} params`);
    const [gx] = columnGrid(d);
    return [
      dispatch(
        scope,
        kernel,
        {
          x: a.x,
          gamma: a.gamma,
          beta: a.beta,
          out: a.out,
          runningMean: a.runningMean,
          runningVar: a.runningVar,
          params,
        },
        [gx, Math.ceil(n / rows), 1],
        `${op} normalizeTest`,
      ),
    ];
  }

  const t = columnTiling(n, d);
  const fused = t.chunks === 1;
  const save = a.saved !== undefined;
  if (a.saved) {
    assertBuffer(op, 'saved.mean', a.saved.mean, d);
    assertBuffer(op, 'saved.invStd', a.saved.invStd, d);
    assertBuffer(op, 'saved.xhat', a.saved.xhat, n * d);
  }
  const mean = a.saved?.mean ?? scope.createTensorBuffer(d * 4, `${op} mean`);
  const invStd = a.saved?.invStd ?? scope.createTensorBuffer(d * 4, `${op} invStd`);
  const xhat = a.saved?.xhat ?? scope.createTensorBuffer(4, `${op} xhat (unused)`);
  if (fused) {
    // One chunk: one dispatch, each invocation owning 4 columns over every row.
    const kernel = await getKernel(scope.ctx, {
      name: 'batchnorm-forward',
      source: forwardWgsl,
      entryPoint: 'trainColumns',
      constants: { WG: wgColumns, SAVE: save ? 1 : 0, RELU: a.relu ? 1 : 0 },
    });
    const params = scope.createUniformBuffer(kernel, 'params', { n, d, chunkRows: n, chunks: 1, eps, momentum }, `${op} params`);
    return [
      dispatch(
        scope,
        kernel,
        {
          x: a.x,
          gamma: a.gamma,
          beta: a.beta,
          out: a.out,
          runningMean: a.runningMean,
          runningVar: a.runningVar,
          mean,
          invStd,
          xhat,
          params,
        },
        columnGrid(d),
        `${op} columns`,
      ),
    ];
  }
  // Several chunks: partial statistics per chunk, merged, then normalize elementwise.
  const [stats, merge, normalize] = await Promise.all([
    getKernel(scope.ctx, { name: 'batchnorm-forward', source: forwardWgsl, entryPoint: 'stats', constants: tileConstants(t) }),
    getKernel(scope.ctx, { name: 'batchnorm-forward', source: forwardWgsl, entryPoint: 'merge' }),
    getKernel(scope.ctx, {
      name: 'batchnorm-forward',
      source: forwardWgsl,
      entryPoint: 'normalize',
      constants: { WG: wgElementwise, SAVE: save ? 1 : 0, RELU: a.relu ? 1 : 0 },
    }),
  ]);
  const params = scope.createUniformBuffer(
    stats,
    'params',
    { n, d, chunkRows: t.chunkRows, chunks: t.chunks, eps, momentum },
    `${op} params`,
  );
  const partMean = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial means`);
  const partM2 = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial M2`);
  return [
    dispatch(
      scope,
      stats,
      { x: a.x, partMean, partM2, params },
      [t.colTiles, t.chunks, 1],
      `${op} stats (${t.chunks} chunks of ${t.chunkRows} rows)`,
    ),
    dispatch(
      scope,
      merge,
      { runningMean: a.runningMean, runningVar: a.runningVar, mean, invStd, partMean, partM2, params },
      gridFor(d, 64),
      `${op} merge`,
    ),
    dispatch(
      scope,
      normalize,
      { x: a.x, gamma: a.gamma, beta: a.beta, out: a.out, mean, invStd, xhat, params },
      elementwise,
      `${op} normalize`,
    ),
  ];
}

/**
 * Record batchnorm backward for dout [n, d] from a train-mode forward's xhat and invStd: dbeta = sum dout,
 * dgamma = sum dout * xhat, and dx either through the staged graph ('graph': dbeta/dgamma, dxhat, dvar,
 * dmu, dx, each a pass with its intermediates in buffers) or in closed form ('alternative': both sums in
 * one reduction, then dx elementwise; a single dispatch when the batch is one chunk, n < 512).
 *   const bwd = await createBatchNormBackward(scope, { dout, xhat, invStd, gamma, dx, dgamma, dbeta, n: 50, d: 100, variant: 'alternative' });
 *   await runDispatches(gpu, bwd);
 */
export async function createBatchNormBackward(scope: GpuScope, a: BatchNormBackwardArgs): Promise<Dispatch[]> {
  const { n, d } = a;
  const op = `batchnorm.backward(${a.variant}${a.reluOut ? '+relu' : ''}) n=${n} d=${d}`;
  assertCount(op, 'n', n);
  assertCount(op, 'd', d);
  if (a.variant !== 'graph' && a.variant !== 'alternative')
    throw new Error(`${op}: variant must be "graph" or "alternative", got ${JSON.stringify(a.variant)}`);
  if ((a.x === undefined) !== (a.mean === undefined)) throw new Error(`${op}: give both x and mean, or neither`);
  for (const [name, buf] of [
    ['dout', a.dout],
    ['xhat', a.xhat],
    ['dx', a.dx],
  ] as const)
    assertBuffer(op, name, buf, n * d);
  for (const [name, buf] of [
    ['invStd', a.invStd],
    ['gamma', a.gamma],
    ['dgamma', a.dgamma],
    ['dbeta', a.dbeta],
  ] as const)
    assertBuffer(op, name, buf, d);
  if (a.x && a.mean) {
    assertBuffer(op, 'x', a.x, n * d);
    assertBuffer(op, 'mean', a.mean, d);
  }
  if (a.reluOut) assertBuffer(op, 'reluOut', a.reluOut, n * d);
  const t = columnTiling(n, d);
  const useX = a.x !== undefined;
  const kernel = (entryPoint: string, constants: Record<string, number> = {}) =>
    getKernel(scope.ctx, { name: 'batchnorm-backward', source: backwardWgsl, entryPoint, constants });
  // The kernels that read dout mask it by the fused ReLU's output (bound to dout itself when there is none).
  const relu = { RELU: a.reluOut ? 1 : 0 };
  const grad = { dout: a.dout, reluOut: a.reluOut ?? a.dout };
  if (t.chunks === 1) return backwardColumns(scope, a, op, kernel);

  // Several chunks: partial column sums per chunk, added up by `combine`.
  const kernels = {
    sums: () => kernel('sumDoutXhat', { ...tileConstants(t), ...relu }),
    combinePair: () => kernel('combine', { PAIR: 1 }),
    combineOne: () => kernel('combine', { PAIR: 0 }),
    dxAlt: () => kernel('dxAlternative', { WG: wgElementwise, ...relu }),
    dxhatNode: () => kernel('dxhatNode', { WG: wgElementwise, ...relu }),
    dvarNode: () => kernel('dvarNode', { ...tileConstants(t), USE_X: useX ? 1 : 0 }),
    dmuNode: () => kernel('dmuNode', { ...tileConstants(t), USE_X: useX ? 1 : 0 }),
    dxNode: () => kernel('dxNode', { WG: wgElementwise }),
  };
  const [sums, combinePair, combineOne] = await Promise.all([kernels.sums(), kernels.combinePair(), kernels.combineOne()]);
  const params = scope.createUniformBuffer(sums, 'params', { n, d, chunkRows: t.chunkRows, chunks: t.chunks }, `${op} params`);
  const partA = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial sums A`);
  const partB = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial sums B`);
  const reduceGrid: [number, number, number] = [t.colTiles, t.chunks, 1];
  const elementwise = gridFor(n * d, wgElementwise);
  const list: Dispatch[] = [];

  // A column reduction into `outA` (and `outB`): partial rows, then `combine`.
  const reduce = (k: Kernel, inputs: Record<string, TensorRef>, outA: TensorRef, outB: TensorRef | null, label: string) => {
    const outs: Record<string, TensorRef> = { partA };
    if (k.bindings.partB) outs.partB = partB;
    list.push(dispatch(scope, k, { ...inputs, ...outs, params }, reduceGrid, `${op} ${label}`));
    const combine = outB ? combinePair : combineOne;
    const sumB = outB ? partB : scope.createTensorBuffer(4, `${op} unused`);
    const outPartB = outB ?? scope.createTensorBuffer(4, `${op} unused`);
    list.push(
      dispatch(scope, combine, { sumA: partA, sumB, partA: outA, partB: outPartB, params }, gridFor(d, 64), `${op} ${label} combine`),
    );
  };

  // dbeta = sum dout, dgamma = sum dout * xhat: the graph's last node and the alternative's one reduction.
  reduce(sums, { ...grad, xhat: a.xhat }, a.dbeta, a.dgamma, 'dbeta+dgamma');
  if (a.variant === 'alternative') {
    list.push(
      dispatch(
        scope,
        await kernels.dxAlt(),
        {
          ...grad,
          xhat: a.xhat,
          gamma: a.gamma,
          invStd: a.invStd,
          sumA: a.dbeta,
          sumB: a.dgamma,
          dx: a.dx,
          params,
        },
        elementwise,
        `${op} dx`,
      ),
    );
    return list;
  }
  const { dxhat, dx1, divar, dx1Sum, xmuSource } = graphBuffers(scope, a, op);
  const [dxhatNode, dvarNode, dmuNode, dxNode] = await Promise.all([
    kernels.dxhatNode(),
    kernels.dvarNode(),
    kernels.dmuNode(),
    kernels.dxNode(),
  ]);
  list.push(dispatch(scope, dxhatNode, { ...grad, gamma: a.gamma, dxhat, params }, elementwise, `${op} dxhat`));
  reduce(dvarNode, { dxhat, invStd: a.invStd, ...xmuSource }, divar, null, 'dvar');
  reduce(dmuNode, { dxhat, invStd: a.invStd, sumA: divar, dx1, ...xmuSource }, dx1Sum, null, 'dmu');
  list.push(dispatch(scope, dxNode, { dx1, sumA: dx1Sum, dx: a.dx, params }, elementwise, `${op} dx`));
  return list;
}

/** Arguments of `createParamGradSums`: dout and xhat [n, d] in, the column sums dbeta and dgamma [d] out. */
export interface ParamGradSumsArgs {
  dout: TensorRef;
  xhat: TensorRef;
  dbeta: TensorRef;
  dgamma: TensorRef;
  n: number;
  d: number;
}

/**
 * Record dbeta = sum_i dout and dgamma = sum_i dout * xhat (column sums over the n rows), the parameter
 * gradients of layer norm (batchnorm's backward records the same sums inline, with its fused ReLU mask).
 *   const sums = await createParamGradSums(scope, { dout, xhat, dbeta, dgamma, n: 50, d: 100 });
 *   await runDispatches(gpu, sums);
 */
export async function createParamGradSums(scope: GpuScope, a: ParamGradSumsArgs): Promise<Dispatch[]> {
  const { n, d } = a;
  const op = `column sums dout, dout*xhat n=${n} d=${d}`;
  assertCount(op, 'n', n);
  assertCount(op, 'd', d);
  for (const [name, buf] of [
    ['dout', a.dout],
    ['xhat', a.xhat],
  ] as const)
    assertBuffer(op, name, buf, n * d);
  for (const [name, buf] of [
    ['dbeta', a.dbeta],
    ['dgamma', a.dgamma],
  ] as const)
    assertBuffer(op, name, buf, d);
  const t = columnTiling(n, d);
  const kernel = (entryPoint: string, constants: Record<string, number>) =>
    getKernel(scope.ctx, { name: 'batchnorm-backward', source: backwardWgsl, entryPoint, constants });
  const grad = { dout: a.dout, reluOut: a.dout };
  if (t.chunks === 1) {
    const k = await kernel('sumsColumns', { WG: wgColumns, RELU: 0 });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    return [dispatch(scope, k, { ...grad, xhat: a.xhat, partA: a.dbeta, partB: a.dgamma, params }, columnGrid(d), op)];
  }
  const [sums, combine] = await Promise.all([kernel('sumDoutXhat', { ...tileConstants(t), RELU: 0 }), kernel('combine', { PAIR: 1 })]);
  const params = scope.createUniformBuffer(sums, 'params', { n, d, chunkRows: t.chunkRows, chunks: t.chunks }, `${op} params`);
  const partA = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial sums A`);
  const partB = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial sums B`);
  return [
    dispatch(scope, sums, { ...grad, xhat: a.xhat, partA, partB, params }, [t.colTiles, t.chunks, 1], `${op} (${t.chunks} chunks)`),
    dispatch(scope, combine, { sumA: partA, sumB: partB, partA: a.dbeta, partB: a.dgamma, params }, gridFor(d, 64), `${op} combine`),
  ];
}

/** The graph variant's intermediates (dxhat, dx1 [n, d]; divar, sum dx1 [d]) and where xmu comes from. */
function graphBuffers(scope: GpuScope, a: BatchNormBackwardArgs, op: string) {
  const { n, d } = a;
  return {
    dxhat: scope.createTensorBuffer(n * d * 4, `${op} dxhat`),
    dx1: scope.createTensorBuffer(n * d * 4, `${op} dx1`),
    divar: scope.createTensorBuffer(d * 4, `${op} divar`),
    dx1Sum: scope.createTensorBuffer(d * 4, `${op} sum dx1 (= -dmu)`),
    xmuSource: a.x && a.mean ? { x: a.x, mean: a.mean } : { x: a.xhat, mean: scope.createTensorBuffer(4, `${op} unused mean`) },
  };
}

/**
 * Backward when the batch is one chunk: the `*Columns` kernels, each invocation owning 4 columns over every
 * row. The alternative is one dispatch; the graph keeps one per node (dbeta/dgamma, dxhat, dvar, dmu, dx).
 */
async function backwardColumns(
  scope: GpuScope,
  a: BatchNormBackwardArgs,
  op: string,
  kernel: (entryPoint: string, constants?: Record<string, number>) => Promise<Kernel>,
): Promise<Dispatch[]> {
  const { n, d } = a;
  const relu = { RELU: a.reluOut ? 1 : 0 };
  const grad = { dout: a.dout, reluOut: a.reluOut ?? a.dout };
  const grid = columnGrid(d);
  const wg = { WG: wgColumns };
  if (a.variant === 'alternative') {
    const k = await kernel('alternativeColumns', { ...wg, ...relu });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    return [
      dispatch(
        scope,
        k,
        {
          ...grad,
          xhat: a.xhat,
          gamma: a.gamma,
          invStd: a.invStd,
          partA: a.dbeta,
          partB: a.dgamma,
          dx: a.dx,
          params,
        },
        columnGrid(d, 8),
        `${op} columns: sums + dx`,
      ),
    ];
  }
  const useX = { ...wg, USE_X: a.x !== undefined ? 1 : 0 };
  const [sums, dxhatK, dvarK, dmuK, dxK] = await Promise.all([
    kernel('sumsColumns', { ...wg, ...relu }),
    kernel('dxhatColumns', { ...wg, ...relu }),
    kernel('dvarColumns', useX),
    kernel('dmuColumns', useX),
    kernel('dxColumns', wg),
  ]);
  const params = scope.createUniformBuffer(sums, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
  const { dxhat, dx1, divar, dx1Sum, xmuSource } = graphBuffers(scope, a, op);
  return [
    dispatch(scope, sums, { ...grad, xhat: a.xhat, partA: a.dbeta, partB: a.dgamma, params }, grid, `${op} dbeta+dgamma`),
    dispatch(scope, dxhatK, { ...grad, gamma: a.gamma, dxhat, params }, grid, `${op} dxhat`),
    dispatch(scope, dvarK, { dxhat, invStd: a.invStd, ...xmuSource, partA: divar, params }, grid, `${op} dvar`),
    dispatch(scope, dmuK, { dxhat, invStd: a.invStd, ...xmuSource, sumA: divar, dx1, partA: dx1Sum, params }, grid, `${op} dmu`),
    dispatch(scope, dxK, { dx1, sumA: dx1Sum, dx: a.dx, params }, grid, `${op} dx`),
  ];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

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

/** [dx, dgamma, dbeta] from [dout, xhat, invStd, gamma, x, mean] (and the fused ReLU's output, when there is one). */
export const batchNormGradOp: OpDef<{ variant: 'graph' | 'alternative' }> = {
  name: 'batchnorm_grad',
  outputs([dout, , , gamma]) {
    return [
      { name: `d(bn in)`, shape: [...dout!.shape] },
      { name: 'dgamma', shape: [...gamma!.shape] },
      { name: 'dbeta', shape: [...gamma!.shape] },
    ];
  },
  encode(scope, { inputs: [dout, xhat, invStd, gamma, x, mean, reluOut], outputs: [dx, dgamma, dbeta] }, node) {
    const [n, d] = node.inputs[0]!.shape as [number, number];
    return createBatchNormBackward(scope, {
      dout: dout!,
      xhat: xhat!,
      invStd: invStd!,
      gamma: gamma!,
      dx: dx!,
      dgamma: dgamma!,
      dbeta: dbeta!,
      n,
      d,
      variant: node.attrs.variant,
      x: x!,
      mean: mean!,
      reluOut,
    });
  },
};
