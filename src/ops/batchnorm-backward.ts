// Batch normalization backward on the GPU, device-resident: the staged graph and the closed form ('alternative').
import { getKernel, type Kernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertBuffers, assertCount } from './op-checks.ts';
import {
  backwardWgsl,
  columnGrid,
  planColumnTiling,
  tileConstants,
  wgColumns,
  wgElementwise,
  type NormBackwardArgs,
} from './norm-columns.ts';
import {
  createBnBackwardLayout,
  makeGradBindings,
  makeOnePassBindings,
  planBnBackwardLayout,
  type BnBackwardLayout,
} from './batchnorm-backward-shapes.ts';

export interface BatchNormBackwardArgs extends NormBackwardArgs {
  /** 'graph': the staged computational graph, one pass per node group; 'alternative': the closed form. */
  variant: 'graph' | 'alternative';
  /** With `mean`, the graph takes x - mean from them (the seed's cache) instead of xhat / invStd. */
  x?: TensorRef;
  mean?: TensorRef;
  /** The output of a forward with `relu`: dout is then the gradient of the ReLU's output, masked by reluOut > 0 on the fly. */
  reluOut?: TensorRef;
  /** Alternative only: force the large-array layout (fused or split, batchnorm-backward-shapes.ts) or 'chunks' (the
   * kernels below); default the GPUs' choice by aspect ratio for large arrays (`planBnBackwardLayout`). */
  layout?: BnBackwardLayout | 'chunks';
  /**
   * The graph variant of a one-chunk batch as one dispatch (`graphColumns`, every node in order per invocation, xmu
   * from xhat / invStd; `x` and `mean` are not read) rather than one per node. Default: one dispatch where the device
   * binds its 9 storage buffers per stage; forcing it on a device that cannot throws.
   */
  graphInOne?: boolean;
  /** A batch of several chunks (the graph; the alternative's 'chunks' layout): rows a chunk of its column sums keeps at
   * least (`planColumnTiling`: 256 on CPU adapters, 64 on GPUs). */
  minChunkRows?: number;
}

/** Storage buffers `graphColumns` binds (the graph variant in one dispatch). */
const graphColumnsBindings = 9;

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
  assertBuffers(op, { dout: a.dout, xhat: a.xhat, dx: a.dx }, n * d);
  assertBuffers(op, { invStd: a.invStd, gamma: a.gamma, dgamma: a.dgamma, dbeta: a.dbeta }, d);
  if (a.x && a.mean) {
    assertBuffer(op, 'x', a.x, n * d);
    assertBuffer(op, 'mean', a.mean, d);
  }
  if (a.reluOut) assertBuffer(op, 'reluOut', a.reluOut, n * d);
  if (a.layout !== undefined && a.variant !== 'alternative') throw new Error(`${op}: a layout is for the alternative variant only`);
  const layout = a.layout ?? (a.variant === 'alternative' ? planBnBackwardLayout(scope.ctx.adapter, n, d) : null);
  if (layout !== null && layout !== 'chunks') return createBnBackwardLayout(scope, a, layout, op);
  const t = planColumnTiling(scope.ctx.adapter, n, d, a.minChunkRows);
  const useX = a.x !== undefined;
  const kernel = (entryPoint: string, constants: Record<string, number> = {}) =>
    getKernel(scope.ctx, { name: 'batchnorm-backward', source: backwardWgsl, entryPoint, constants });
  // The kernels that read dout mask it by the fused ReLU's output (bound to dout itself when there is none).
  const relu = { RELU: a.reluOut ? 1 : 0 };
  const grad = makeGradBindings(a);
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
    list.push(createDispatch(scope, k, { ...inputs, ...outs, params }, reduceGrid, `${op} ${label}`));
    const combine = outB ? combinePair : combineOne;
    const sumB = outB ? partB : scope.createTensorBuffer(4, `${op} unused`);
    const outPartB = outB ?? scope.createTensorBuffer(4, `${op} unused`);
    list.push(
      createDispatch(scope, combine, { sumA: partA, sumB, partA: outA, partB: outPartB, params }, gridFor(d, 64), `${op} ${label} combine`),
    );
  };

  // dbeta = sum dout, dgamma = sum dout * xhat: the graph's last node and the alternative's one reduction.
  reduce(sums, { ...grad, xhat: a.xhat }, a.dbeta, a.dgamma, 'dbeta+dgamma');
  if (a.variant === 'alternative') {
    list.push(
      createDispatch(
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
  list.push(createDispatch(scope, dxhatNode, { ...grad, gamma: a.gamma, dxhat, params }, elementwise, `${op} dxhat`));
  reduce(dvarNode, { dxhat, invStd: a.invStd, ...xmuSource }, divar, null, 'dvar');
  reduce(dmuNode, { dxhat, invStd: a.invStd, sumA: divar, dx1, ...xmuSource }, dx1Sum, null, 'dmu');
  list.push(createDispatch(scope, dxNode, { dx1, sumA: dx1Sum, dx: a.dx, params }, elementwise, `${op} dx`));
  return list;
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
  const grad = makeGradBindings(a);
  const grid = columnGrid(d);
  const wg = { WG: wgColumns };
  // the one-pass kernels (the closed form, and the graph's nodes in one) bind the same buffers
  const onePass = makeOnePassBindings(a);
  if (a.variant === 'alternative') {
    const k = await kernel('alternativeColumns', { ...wg, ...relu });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    return [createDispatch(scope, k, { ...onePass, params }, columnGrid(d, 8), `${op} columns: sums + dx`)];
  }
  const useX = { ...wg, USE_X: a.x !== undefined ? 1 : 0 };
  const limit = scope.ctx.device.limits.maxStorageBuffersPerShaderStage;
  if (a.graphInOne && limit < graphColumnsBindings)
    throw new Error(`${op}: the graph in one dispatch binds ${graphColumnsBindings} storage buffers, the device allows ${limit}`);
  if (a.graphInOne ?? limit >= graphColumnsBindings) {
    const k = await kernel('graphColumns', { ...wg, ...relu });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    const scratch = scope.createTensorBuffer((2 * n * d + 2 * d) * 4, `${op} dxhat, dx1, divar, sum dx1`);
    return [createDispatch(scope, k, { ...onePass, scratch, params }, grid, `${op} columns: graph nodes in one`)];
  }
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
    createDispatch(scope, sums, { ...grad, xhat: a.xhat, partA: a.dbeta, partB: a.dgamma, params }, grid, `${op} dbeta+dgamma`),
    createDispatch(scope, dxhatK, { ...grad, gamma: a.gamma, dxhat, params }, grid, `${op} dxhat`),
    createDispatch(scope, dvarK, { dxhat, invStd: a.invStd, ...xmuSource, partA: divar, params }, grid, `${op} dvar`),
    createDispatch(scope, dmuK, { dxhat, invStd: a.invStd, ...xmuSource, sumA: divar, dx1, partA: dx1Sum, params }, grid, `${op} dmu`),
    createDispatch(scope, dxK, { dx1, sumA: dx1Sum, dx: a.dx, params }, grid, `${op} dx`),
  ];
}
