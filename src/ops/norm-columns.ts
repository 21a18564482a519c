// The column building blocks of the normalizations: batchnorm's backward WGSL with the column helpers linked, the
// column grids and tilings, and the parameter-gradient column sums (dbeta, dgamma) that layer norm records too.
import backwardModule from '../../shaders/batchnorm-backward.wgsl?raw';
import graphModule from '../../shaders/batchnorm-backward-graph.wgsl?raw';
import graphColumnsModule from '../../shaders/batchnorm-graph-columns.wgsl?raw';
import alternativeModule from '../../shaders/batchnorm-backward-alternative.wgsl?raw';
import columnsWgsl from '../../shaders/lib/columns.wgsl?raw';
import treeSumWgsl from '../../shaders/lib/tree-sum.wgsl?raw';
import { getKernel, linkWgsl } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import type { OpDef } from '../graph/graph.ts';
import { assertBuffers, assertCount, columnTiling, type ColumnTiling } from './op-checks.ts';

/**
 * batchnorm-backward.wgsl (the bindings and column sums both forms share) with the column helpers and the tree sum linked
 * in front, and behind it the staged graph's kernels (per node, and every node in one) and the closed form's.
 */
export const backwardWgsl = linkWgsl(columnsWgsl, treeSumWgsl, backwardModule, graphModule, graphColumnsModule, alternativeModule);

/** Workgroup size of the elementwise passes of the normalizations. */
export const wgElementwise = 256;
/** Workgroup size of the one-chunk column kernels: 8 invocations of 4 columns (d = 100 is 4 workgroups). */
export const wgColumns = 8;

/** Grid of a column kernel over d columns, `perInvocation` (4 or 8) per invocation. */
export function columnGrid(d: number, perInvocation = 4): [number, number, number] {
  return gridFor(Math.ceil(d / perInvocation), wgColumns);
}

/** Rows a chunk of a batchnorm column reduction keeps at least on GPUs, once the batch is several chunks. */
export const gpuMinChunkRows = 64;

/**
 * The tiling of batchnorm's column reductions (forward statistics, the graph backward's sums) on this adapter: a batch
 * that is one chunk (`columnTiling`: under 512 rows) stays one on every adapter; a batch of several is cut into chunks of
 * at least 256 rows on CPU adapters and of at least 64 on GPUs (at 1024x1024: 16 chunks, 512 workgroups of 8 rows a
 * row-lane, where 256-row chunks give 4 chunks, 128 workgroups of 32 rows a row-lane), or of at least `minChunkRows` forced.
 *   planColumnTiling(h200, 1024, 1024);        // { cols: 32, rows: 8, colTiles: 32, chunks: 16, chunkRows: 64 }
 *   planColumnTiling(swiftshader, 1024, 1024); // { cols: 32, rows: 8, colTiles: 32, chunks: 4, chunkRows: 256 }
 */
export function planColumnTiling(adapter: AdapterSummary, n: number, d: number, minChunkRows?: number): ColumnTiling {
  if (minChunkRows !== undefined && (!Number.isInteger(minChunkRows) || minChunkRows < 1))
    throw new Error(`column reduction n=${n} d=${d}: minChunkRows must be a whole number >= 1, got ${minChunkRows}`);
  const t = columnTiling(n, d);
  if (minChunkRows !== undefined) return columnTiling(n, d, minChunkRows);
  return t.chunks > 1 && !isCpuAdapter(adapter) ? columnTiling(n, d, gpuMinChunkRows) : t;
}

/** The override constants of a tiled column reduction. */
export function tileConstants(t: ColumnTiling): Record<string, number> {
  return { COLS: t.cols, ROWS: t.rows };
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

/**
 * The graph side shared by the normalizations' gradient ops: inputs [dout, xhat, invStd, gamma, ...] give
 * outputs [dx, dgamma, dbeta] (dx of dout's shape, the others of gamma's), and the buffers of NormBackwardArgs.
 *   outputs: makeNormGrad('bn').outputs,
 *   encode: (scope, refs, node) => createBatchNormBackward(scope, { ...makeNormGrad('bn').args(refs), n, d, variant }),
 */
export function makeNormGrad(short: string): {
  outputs: OpDef['outputs'];
  args(refs: { inputs: TensorRef[]; outputs: TensorRef[] }): Omit<NormBackwardArgs, 'n' | 'd'>;
} {
  return {
    outputs([dout, , , gamma]) {
      return [
        { name: `d(${short} in)`, shape: [...dout!.shape] },
        { name: 'dgamma', shape: [...gamma!.shape] },
        { name: 'dbeta', shape: [...gamma!.shape] },
      ];
    },
    args({ inputs: [dout, xhat, invStd, gamma], outputs: [dx, dgamma, dbeta] }) {
      return { dout: dout!, xhat: xhat!, invStd: invStd!, gamma: gamma!, dx: dx!, dgamma: dgamma!, dbeta: dbeta! };
    },
  };
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
  assertBuffers(op, { dout: a.dout, xhat: a.xhat }, n * d);
  assertBuffers(op, { dbeta: a.dbeta, dgamma: a.dgamma }, d);
  const t = columnTiling(n, d);
  const kernel = (entryPoint: string, constants: Record<string, number>) =>
    getKernel(scope.ctx, { name: 'batchnorm-backward', source: backwardWgsl, entryPoint, constants });
  const grad = { dout: a.dout, reluOut: a.dout };
  if (t.chunks === 1) {
    const k = await kernel('sumsColumns', { WG: wgColumns, RELU: 0 });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    return [createDispatch(scope, k, { ...grad, xhat: a.xhat, partA: a.dbeta, partB: a.dgamma, params }, columnGrid(d), op)];
  }
  const [sums, combine] = await Promise.all([kernel('sumDoutXhat', { ...tileConstants(t), RELU: 0 }), kernel('combine', { PAIR: 1 })]);
  const params = scope.createUniformBuffer(sums, 'params', { n, d, chunkRows: t.chunkRows, chunks: t.chunks }, `${op} params`);
  const partA = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial sums A`);
  const partB = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial sums B`);
  return [
    createDispatch(scope, sums, { ...grad, xhat: a.xhat, partA, partB, params }, [t.colTiles, t.chunks, 1], `${op} (${t.chunks} chunks)`),
    createDispatch(scope, combine, { sumA: partA, sumB: partB, partA: a.dbeta, partB: a.dgamma, params }, gridFor(d, 64), `${op} combine`),
  ];
}
