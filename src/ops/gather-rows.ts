// Row gather of 32-bit words (f32 features) by index, and their labels: the minibatch gather for already-centred float data.
import gatherRowsWgsl from '../../shaders/gather-rows.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount, chunkList } from './op-checks.ts';

/** A minibatch's labels, gathered by the same indices in the same launch: out[i] = y[indices[i]]. */
export interface GatherLabels {
  /** [count] u32 labels of the whole data set (one buffer, whatever the chunks of the rows). */
  y: TensorRef;
  /** [batch] u32. */
  out: TensorRef;
}

/**
 * The label bindings of a gather launch and its `labeled` flag: the labels given (checked), or 4-byte placeholders the
 * kernel never reads or writes.
 *   const labels = labelBindings(scope, 'gather', { y: allLabels, out: batchLabels }, 50, 49000);
 *   createDispatch(scope, kernel, { ...bindings, ...labels.bind }, grid, label); // params.labeled = labels.labeled
 */
export function labelBindings(
  scope: GpuScope,
  op: string,
  labels: GatherLabels | undefined,
  batch: number,
  count: number,
): { bind: { labels: TensorRef; yout: TensorRef }; labeled: number } {
  if (!labels) {
    // two buffers: one bound read-only and read-write in one launch is a validation error
    const bind = { labels: scope.createTensorBuffer(4, `${op} no labels`), yout: scope.createTensorBuffer(4, `${op} no labels out`) };
    return { bind, labeled: 0 };
  }
  assertBuffer(op, 'labels', labels.y, count);
  assertBuffer(op, 'labels out', labels.out, batch);
  return { bind: { labels: labels.y, yout: labels.out }, labeled: 1 };
}

/**
 * Record `out[i, :] = src[indices[i], :]` for `batch` rows of `dim` words out of `rows`; `src` may be chunks of
 * `chunkRows` rows each (one dispatch per chunk), for data larger than one storage binding. With `labels`, the
 * labels of the same rows too (in the launch of the chunk at row 0).
 *   const d = await createGatherRows(scope, { src: X, indices, out: xb, batch: 50, dim: 3072, rows: 1000 });
 *   await runDispatches(gpu, d);
 */
export async function createGatherRows(
  scope: GpuScope,
  a: {
    src: TensorRef | TensorRef[];
    chunkRows?: number;
    indices: TensorRef;
    out: TensorRef;
    batch: number;
    dim: number;
    rows: number;
    labels?: GatherLabels;
  },
): Promise<Dispatch[]> {
  assertCount('gather-rows', 'batch', a.batch);
  assertCount('gather-rows', 'dim', a.dim);
  assertCount('gather-rows', 'rows', a.rows);
  const chunks = chunkList('gather-rows', a.src, a.rows, a.chunkRows);
  for (const c of chunks) assertBuffer('gather-rows', chunks.length > 1 ? `src chunk at row ${c.base}` : 'src', c.buffer, c.rows * a.dim);
  assertBuffer('gather-rows', 'indices', a.indices, a.batch);
  assertBuffer('gather-rows', 'out', a.out, a.batch * a.dim);
  const labels = labelBindings(scope, 'gather-rows', a.labels, a.batch, a.rows);
  const kernel = await getKernel(scope.ctx, { name: 'gather-rows', source: gatherRowsWgsl });
  return chunks.map((c) =>
    createDispatch(
      scope,
      kernel,
      {
        src: c.buffer,
        indices: a.indices,
        out: a.out,
        params: scope.createUniformBuffer(kernel, 'params', {
          batch: a.batch,
          dim: a.dim,
          rows: a.rows,
          base: c.base,
          chunkRows: c.rows,
          labeled: labels.labeled,
        }),
        ...labels.bind,
      },
      gridFor(a.batch * a.dim, kernel.workgroupSize[0]),
      `gather-rows batch=${a.batch} dim=${a.dim}${chunks.length > 1 ? ` chunk@${c.base}` : ''}${labels.labeled ? ' +labels' : ''}`,
    ),
  );
}
