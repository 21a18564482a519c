// Batchnorm backward ('alternative') for large arrays by aspect ratio: the fused one-pass plan (the batch in registers)
// and the split plan (tall: column sums over many row splits, a tiny combine, then dx in tiles); the GPUs' auto choice.
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { columnTiling } from './op-checks.ts';
import { backwardWgsl, tileConstants, type NormBackwardArgs } from './norm-columns.ts';

/** Rows one invocation of `fusedColumns` keeps in registers (RMAX in shaders/batchnorm-backward-alternative.wgsl). */
const registerRows = 32;

/**
 * Workgroups the auto plan wants a fused dispatch to have at least: about two of 256 invocations per SM on a GPU of 128
 * SMs (an H200 has 132), 16 warps a SM to hide the loads' latency. At 1024x1024, 8 columns a workgroup give 128.
 */
const minFusedWorkgroups = 256;

/**
 * How a large batchnorm backward runs: `fused` (one dispatch; `cols` columns a workgroup, 256 / cols row-lanes, at most
 * 32 rows a row-lane) or `split` (column sums over `splits` row splits, the combine, dx over blocks of rows).
 */
export type BnBackwardLayout = { kind: 'fused'; cols: number } | { kind: 'split'; splits: number };

/**
 * The auto choice: null (the kernels of batchnorm-backward.ts) on CPU adapters, and on GPUs for a batch of one chunk
 * (under 512 rows) of under 2^20 elements. Otherwise the fused plan where the batch fits in registers, at the most
 * columns a workgroup (8, 4, 2, 1: the widest row segment a warp loads) that still gives 256 workgroups, or at the
 * fewest columns that hold the batch where none does; else the split plan with about 4096 workgroups of column sums,
 * 64 rows a split at least. Awaits GPU figures (issue 23; `bench/gpu-run.sh kernels` times every layout forced).
 *   planBnBackwardLayout(h200, 1024, 1024);  // { kind: 'fused', cols: 4 }: 256 workgroups, 16 rows a row-lane
 *   planBnBackwardLayout(h200, 65536, 1024); // { kind: 'split', splits: 128 }
 */
export function planBnBackwardLayout(adapter: AdapterSummary, n: number, d: number): BnBackwardLayout | null {
  if (isCpuAdapter(adapter) || (columnTiling(n, d).chunks === 1 && n * d < 1 << 20)) return null;
  const fits = [8, 4, 2, 1].filter((cols) => n <= (256 / cols) * registerRows && Math.ceil(d / cols) <= maxWorkgroupsPerDim);
  if (fits.length > 0) return { kind: 'fused', cols: fits.find((cols) => Math.ceil(d / cols) >= minFusedWorkgroups) ?? fits.at(-1)! };
  const colTiles = columnTiling(n, d).colTiles;
  return { kind: 'split', splits: Math.max(1, Math.min(Math.floor(n / 64), Math.ceil(4096 / colTiles), maxWorkgroupsPerDim)) };
}

/**
 * The buffers a one-pass closed-form kernel binds (`alternativeColumns`, `fusedColumns`; `graphColumns` adds its
 * scratch): the gradient (dout masked by reluOut when given; reluOut bound to dout itself when not), xhat, gamma and
 * invStd in, dbeta and dgamma (partA, partB) and dx out.
 *   const bound = makeOnePassBindings(args);
 *   createDispatch(scope, kernel, { ...bound, params }, grid, label);
 */
export function makeOnePassBindings(a: NormBackwardArgs & { reluOut?: TensorRef }): Record<string, TensorRef> {
  return { ...makeGradBindings(a), xhat: a.xhat, gamma: a.gamma, invStd: a.invStd, partA: a.dbeta, partB: a.dgamma, dx: a.dx };
}

/**
 * The incoming gradient's two bindings: dout, and the fused ReLU's output that masks it (dout itself without a ReLU).
 *   const grad = makeGradBindings({ dout, reluOut });
 *   grad.reluOut === reluOut; // true
 */
export function makeGradBindings(a: { dout: TensorRef; reluOut?: TensorRef }): { dout: TensorRef; reluOut: TensorRef } {
  return { dout: a.dout, reluOut: a.reluOut ?? a.dout };
}

/**
 * Record the alternative backward (dbeta, dgamma, dx; dout masked by reluOut when given) in a forced layout. A layout
 * that cannot run the shape throws why.
 *   const ds = await createBnBackwardLayout(scope, { ...bufs, n: 1024, d: 65536 }, { kind: 'fused', cols: 8 });
 *   await runDispatches(gpu, ds);
 */
export async function createBnBackwardLayout(
  scope: GpuScope,
  a: NormBackwardArgs & { reluOut?: TensorRef },
  layout: BnBackwardLayout,
  op = `batchnorm.backward(alternative) n=${a.n} d=${a.d}`,
): Promise<Dispatch[]> {
  const { n, d } = a;
  const relu = { RELU: a.reluOut ? 1 : 0 };
  const kernel = (entryPoint: string, constants: Record<string, number>) =>
    getKernel(scope.ctx, { name: 'batchnorm-backward', source: backwardWgsl, entryPoint, constants });
  if (layout.kind === 'fused') {
    const { cols } = layout;
    if (![1, 2, 4, 8, 16, 32, 64, 128, 256].includes(cols))
      throw new Error(`${op}: fused cols must be a power of two up to 256, got ${cols}`);
    const rows = 256 / cols;
    if (n > rows * registerRows)
      throw new Error(
        `${op}: the fused layout at ${cols} columns a workgroup holds at most ${rows * registerRows} rows (${rows} row-lanes x ${registerRows} registers)`,
      );
    if (Math.ceil(d / cols) > maxWorkgroupsPerDim)
      throw new Error(
        `${op}: the fused layout at ${cols} columns a workgroup needs ${Math.ceil(d / cols)} workgroups, more than ${maxWorkgroupsPerDim}`,
      );
    const k = await kernel('fusedColumns', { COLS: cols, ROWS: rows, ...relu });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    return [createDispatch(scope, k, { ...makeOnePassBindings(a), params }, gridFor(d, cols), `${op} fused cols=${cols}`)];
  }
  const { splits } = layout;
  if (!Number.isInteger(splits) || splits < 1 || splits > Math.min(n, maxWorkgroupsPerDim))
    throw new Error(`${op}: split layout splits must be an integer in [1, ${Math.min(n, maxWorkgroupsPerDim)}], got ${splits}`);
  const t = columnTiling(n, d);
  const chunkRows = Math.ceil(n / splits);
  const chunks = Math.ceil(n / chunkRows);
  const [sums, combine, dxk] = await Promise.all([
    kernel('sumDoutXhat', { ...tileConstants(t), ...relu }),
    kernel('combine', { PAIR: 1 }),
    kernel('dxTiles', { ...tileConstants(t), ...relu }),
  ]);
  const params = scope.createUniformBuffer(sums, 'params', { n, d, chunkRows, chunks }, `${op} params`);
  // dx in blocks of 4 unrolled steps of the ROWS row-lanes (or fewer where that leaves under 1024 workgroups)
  const dxRows = Math.max(t.rows, Math.min(16 * t.rows, Math.ceil((n * t.colTiles) / 1024)));
  const dxParams = scope.createUniformBuffer(dxk, 'params', { n, d, chunkRows: dxRows, chunks: 1 }, `${op} dx params`);
  const partA = scope.createTensorBuffer(chunks * d * 4, `${op} partial sums A`);
  const partB = scope.createTensorBuffer(chunks * d * 4, `${op} partial sums B`);
  const dxBlocks = Math.ceil(n / dxRows);
  if (dxBlocks > maxWorkgroupsPerDim) throw new Error(`${op}: ${dxBlocks} row blocks of dx, more than ${maxWorkgroupsPerDim}`);
  const grad = makeGradBindings(a);
  return [
    createDispatch(
      scope,
      sums,
      { ...grad, xhat: a.xhat, partA, partB, params },
      [t.colTiles, chunks, 1],
      `${op} split sums (${chunks} splits)`,
    ),
    createDispatch(scope, combine, { sumA: partA, sumB: partB, partA: a.dbeta, partB: a.dgamma, params }, gridFor(d, 64), `${op} combine`),
    createDispatch(
      scope,
      dxk,
      { ...grad, xhat: a.xhat, gamma: a.gamma, invStd: a.invStd, sumA: a.dbeta, sumB: a.dgamma, dx: a.dx, params: dxParams },
      [t.colTiles, dxBlocks, 1],
      `${op} dx tiles`,
    ),
  ];
}
