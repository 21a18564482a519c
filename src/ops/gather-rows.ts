// Row gather of 32-bit words (f32 features, u32 labels) by index: the minibatch gather for already-centred float data.
import gatherRowsWgsl from '../../shaders/gather-rows.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount, chunkList } from './op-checks.ts';
import type { OpDef } from '../graph/graph.ts';

/**
 * Record `out[i, :] = src[indices[i], :]` for `batch` rows of `dim` words out of `rows`; `src` may be chunks of
 * `chunkRows` rows each (one dispatch per chunk), for data larger than one storage binding.
 *   const d = await createGatherRows(scope, { src: X, indices, out: xb, batch: 50, dim: 3072, rows: 1000 });
 *   await runDispatches(gpu, d);
 */
export async function createGatherRows(
  scope: GpuScope,
  a: { src: TensorRef | TensorRef[]; chunkRows?: number; indices: TensorRef; out: TensorRef; batch: number; dim: number; rows: number },
): Promise<Dispatch[]> {
  assertCount('gather-rows', 'batch', a.batch);
  assertCount('gather-rows', 'dim', a.dim);
  assertCount('gather-rows', 'rows', a.rows);
  const chunks = chunkList('gather-rows', a.src, a.rows, a.chunkRows);
  for (const c of chunks) assertBuffer('gather-rows', chunks.length > 1 ? `src chunk at row ${c.base}` : 'src', c.buffer, c.rows * a.dim);
  assertBuffer('gather-rows', 'indices', a.indices, a.batch);
  assertBuffer('gather-rows', 'out', a.out, a.batch * a.dim);
  const kernel = await getKernel(scope.ctx, { name: 'gather-rows', source: gatherRowsWgsl });
  return chunks.map((c) =>
    createDispatch(
      scope,
      kernel,
      {
        src: c.buffer,
        indices: a.indices,
        out: a.out,
        params: scope.createUniformBuffer(kernel, 'params', { batch: a.batch, dim: a.dim, rows: a.rows, base: c.base, chunkRows: c.rows }),
      },
      gridFor(a.batch * a.dim, kernel.workgroupSize[0]),
      `gather-rows batch=${a.batch} dim=${a.dim}${chunks.length > 1 ? ` chunk@${c.base}` : ''}`,
    ),
  );
}

// The graph op: shape rule and encode beside the kernel wrapper (gathered data takes no gradient).

/**
 * Rows `indices` of a matrix of 32-bit words (centred f32 features, or u32 labels with dim 1), copied as they are.
 * Inputs: the `chunks` data buffers (rows [k * chunkRows, ...) each), then the indices [batch].
 */
export const gatherRowsOp: OpDef<{ dim: number; rows: number; chunks: number; chunkRows: number; dtype: 'f32' | 'u32' }> = {
  name: 'gather_rows',
  outputs(inputs, { dim, chunks, dtype }) {
    const batch = inputs[chunks]!.shape[0]!;
    return [{ name: 'rows batch', shape: dim === 1 ? [batch] : [batch, dim], dtype }];
  },
  encode(scope, { inputs, outputs: [out] }, node) {
    const { dim, rows, chunks, chunkRows } = node.attrs;
    return createGatherRows(scope, {
      src: inputs.slice(0, chunks),
      chunkRows,
      indices: inputs[chunks]!,
      out: out!,
      batch: node.inputs[chunks]!.shape[0]!,
      dim,
      rows,
    });
  },
};
