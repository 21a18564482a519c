// Batchnorm backward ('alternative') for large arrays by aspect ratio: the fused one-pass plan (wide, batch in registers)
// and the split plan (tall: column sums over many row splits, a tiny combine, then dx in tiles); the GPUs' auto choice.
import shapesModule from '../../shaders/batchnorm-backward-shapes.wgsl?raw';
import { getKernel, linkWgsl } from '../gpu/kernel.ts';
import { createDispatch, gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { columnTiling } from './op-checks.ts';
import { backwardWgsl, tileConstants, type NormBackwardArgs } from './norm-columns.ts';

/** The layout kernels behind batchnorm-backward.wgsl (its bindings, Params and helpers) and the column helpers. */
const shapesWgsl = linkWgsl(backwardWgsl, shapesModule);

/** Rows one invocation of `fusedColumns` keeps in registers (RMAX in the WGSL). */
const registerRows = 32;

/**
 * How a large batchnorm backward runs: `fused` (one dispatch; `cols` columns a workgroup, 256 / cols row-lanes, at most
 * 32 rows a row-lane) or `split` (column sums over `splits` row splits, the combine, dx over blocks of rows).
 */
export type BnBackwardLayout = { kind: 'fused'; cols: number } | { kind: 'split'; splits: number };

/**
 * The auto choice: null (the kernels of batchnorm-backward.ts) on CPU adapters and below 2^20 elements; on GPUs the
 * fused plan where the batch fits in registers at 8 columns a workgroup (n <= 1024), else at 4 (n <= 2048), else the
 * split plan with about 4096 workgroups of column sums, 64 rows a split at least. Awaits GPU figures (issue 23).
 *   planBnBackwardLayout(h200, 1024, 65536); // { kind: 'fused', cols: 8 }
 *   planBnBackwardLayout(h200, 65536, 1024); // { kind: 'split', splits: 128 }
 */
export function planBnBackwardLayout(adapter: AdapterSummary, n: number, d: number): BnBackwardLayout | null {
  if (isCpuAdapter(adapter) || n * d < 1 << 20) return null;
  if (n <= (256 / 8) * registerRows) return { kind: 'fused', cols: 8 };
  if (n <= (256 / 4) * registerRows) return { kind: 'fused', cols: 4 };
  const colTiles = columnTiling(n, d).colTiles;
  return { kind: 'split', splits: Math.max(1, Math.min(Math.floor(n / 64), Math.ceil(4096 / colTiles), maxWorkgroupsPerDim)) };
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
  const grad = { dout: a.dout, reluOut: a.reluOut ?? a.dout };
  const kernel = (source: string, entryPoint: string, constants: Record<string, number>) =>
    getKernel(scope.ctx, {
      name: source === shapesWgsl ? 'batchnorm-backward-shapes' : 'batchnorm-backward',
      source,
      entryPoint,
      constants,
    });
  const factors = { gamma: a.gamma, invStd: a.invStd };
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
    const k = await kernel(shapesWgsl, 'fusedColumns', { COLS: cols, ROWS: rows, ...relu });
    const params = scope.createUniformBuffer(k, 'params', { n, d, chunkRows: n, chunks: 1 }, `${op} params`);
    const out = { partA: a.dbeta, partB: a.dgamma, dx: a.dx };
    return [createDispatch(scope, k, { ...grad, xhat: a.xhat, ...factors, ...out, params }, gridFor(d, cols), `${op} fused cols=${cols}`)];
  }
  const { splits } = layout;
  if (!Number.isInteger(splits) || splits < 1 || splits > Math.min(n, maxWorkgroupsPerDim))
    throw new Error(`${op}: split layout splits must be an integer in [1, ${Math.min(n, maxWorkgroupsPerDim)}], got ${splits}`);
  const t = columnTiling(n, d);
  const chunkRows = Math.ceil(n / splits);
  const chunks = Math.ceil(n / chunkRows);
  const [sums, combine, dxk] = await Promise.all([
    kernel(backwardWgsl, 'sumDoutXhat', { ...tileConstants(t), ...relu }),
    kernel(backwardWgsl, 'combine', { PAIR: 1 }),
    kernel(shapesWgsl, 'dxTiles', { ...tileConstants(t), ...relu }),
  ]);
  const params = scope.createUniformBuffer(sums, 'params', { n, d, chunkRows, chunks }, `${op} params`);
  // dx in blocks of 4 unrolled steps of the ROWS row-lanes (or fewer where that leaves under 1024 workgroups)
  const dxRows = Math.max(t.rows, Math.min(16 * t.rows, Math.ceil((n * t.colTiles) / 1024)));
  const dxParams = scope.createUniformBuffer(dxk, 'params', { n, d, chunkRows: dxRows, chunks: 1 }, `${op} dx params`);
  const partA = scope.createTensorBuffer(chunks * d * 4, `${op} partial sums A`);
  const partB = scope.createTensorBuffer(chunks * d * 4, `${op} partial sums B`);
  const dxBlocks = Math.ceil(n / dxRows);
  if (dxBlocks > maxWorkgroupsPerDim) throw new Error(`${op}: ${dxBlocks} row blocks of dx, more than ${maxWorkgroupsPerDim}`);
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
      { ...grad, xhat: a.xhat, ...factors, sumA: a.dbeta, sumB: a.dgamma, dx: a.dx, params: dxParams },
      [t.colTiles, dxBlocks, 1],
      `${op} dx tiles`,
    ),
  ];
}
