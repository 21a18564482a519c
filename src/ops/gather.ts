// Minibatch gather on the GPU (shaders/gather.wgsl): rows of packed uint8 images by index, minus the mean image, and their labels.
import gatherWgsl from '../../shaders/gather.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount, chunkList } from './op-checks.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';
import { createGatherRows, labelBindings, type GatherLabels } from './gather-rows.ts';

export interface GatherArgs {
  /**
   * count x dim bytes, packed 4 per u32 (see packUint8); or chunks of `chunkRows` whole images each (the last
   * one may hold fewer), each packed from its own first image, for data larger than one storage binding.
   */
  images: TensorRef | TensorRef[];
  /** Images per chunk (all but the last); needed with more than one chunk. */
  chunkRows?: number;
  /** [dim] f32 mean image. */
  mean: TensorRef;
  /** [batch] u32 row indices; an index >= count yields NaN for that row. */
  indices: TensorRef;
  /** [batch, dim] f32. */
  out: TensorRef;
  batch: number;
  dim: number;
  /** Number of images in `images`, for the bounds check. */
  count: number;
  /** Also gather the labels (in the launch of the chunk at image 0). */
  labels?: GatherLabels;
}

/** Workgroup size of `rows16` (16 pixels per invocation: 3072 pixels are 3 workgroups per row). */
const wgRows = 64;

/**
 * Pack bytes 4 per u32, little-endian, zero-padded to a multiple of 4 bytes (the layout gather.wgsl reads).
 *   const words = packUint8(Uint8Array.of(1, 2, 3, 4, 5)); // Uint32Array [0x04030201, 0x00000005]
 *   scope.createTensorBuffer(words, 'images');
 */
export function packUint8(u8: Uint8Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(u8.length / 4));
  // Byte k lands at byte offset k of the buffer, which WGSL reads as little-endian u32 on any host.
  new Uint8Array(words.buffer).set(u8);
  return words;
}

/**
 * Record out[i, j] = images[indices[i], j] - mean[j] for a batch of rows of packed uint8 images; when dim is a
 * multiple of 16, 16 pixels per invocation (one vec4u in, four vec4f out) on a (dim/16, batch) grid.
 *   const g = await createGather(scope, { images, mean, indices, out, batch: 50, dim: 3072, count: 49000 });
 *   device.queue.writeBuffer(indices, 0, batchIndices); await runDispatches(gpu, g);
 */
export async function createGather(scope: GpuScope, a: GatherArgs): Promise<Dispatch[]> {
  const op = `gather batch=${a.batch} dim=${a.dim} count=${a.count}`;
  assertCount(op, 'batch', a.batch);
  assertCount(op, 'dim', a.dim);
  assertCount(op, 'count', a.count);
  const chunks = chunkList(op, a.images, a.count, a.chunkRows);
  for (const c of chunks) {
    if (c.rows * a.dim > 0xffffffff)
      throw new Error(`${op}: ${c.rows} images x dim = ${c.rows * a.dim} bytes in one chunk do not fit u32 addressing`);
    assertBuffer(op, chunks.length > 1 ? `images chunk at image ${c.base}` : 'images', c.buffer, Math.ceil((c.rows * a.dim) / 4));
  }
  assertBuffer(op, 'mean', a.mean, a.dim);
  assertBuffer(op, 'indices', a.indices, a.batch);
  assertBuffer(op, 'out', a.out, a.batch * a.dim);
  const labels = labelBindings(scope, op, a.labels, a.batch, a.count);
  const rows16 = a.dim % 16 === 0 && a.batch <= maxWorkgroupsPerDim && a.dim / 16 / wgRows <= maxWorkgroupsPerDim;
  // Rows of whole 16-byte blocks: one invocation per 16 pixels, row = workgroup y; else one pixel per invocation.
  const kernel = rows16
    ? await getKernel(scope.ctx, { name: 'gather', source: gatherWgsl, entryPoint: 'rows16', constants: { WG: wgRows } })
    : await getKernel(scope.ctx, { name: 'gather', source: gatherWgsl, constants: { WG: 256 } });
  return chunks.map((c) => {
    const uniform = scope.createUniformBuffer(
      kernel,
      'params',
      { batch: a.batch, dim: a.dim, count: a.count, base: c.base, rows: c.rows, labeled: labels.labeled },
      `${op} params`,
    );
    const label = `${op}${rows16 ? ' rows16' : ''}${chunks.length > 1 ? ` chunk@${c.base}` : ''}${labels.labeled ? ' +labels' : ''}`;
    return rows16
      ? createDispatch(
          scope,
          kernel,
          { images16: c.buffer, mean4: a.mean, indices: a.indices, out4: a.out, params: uniform, ...labels.bind },
          [Math.ceil(a.dim / 16 / wgRows), a.batch, 1],
          label,
        )
      : createDispatch(
          scope,
          kernel,
          { images: c.buffer, mean: a.mean, indices: a.indices, out: a.out, params: uniform, ...labels.bind },
          gridFor(a.batch * a.dim, 256),
          label,
        );
  });
}

// The graph op: shape rule and encode beside the kernel wrappers (gathered data takes no gradient).

/** How a split's rows are stored: packed uint8 images (minus the mean image on gather) or 32-bit words (f32 features). */
export interface GatherBatchAttrs {
  format: 'uint8' | 'words';
  dim: number;
  rows: number;
  chunks: number;
  chunkRows: number;
}

/**
 * A minibatch: rows `indices` of the data as f32 [batch, dim] (uint8 pixels minus the mean image, or f32 words as
 * they are) and their labels [batch] u32, one launch per chunk of rows (the labels ride with the first).
 * Inputs: the `chunks` row buffers (rows [k * chunkRows, ...) each), the indices [batch], the labels [rows], and for
 * uint8 the mean image [dim]. Outputs: [X batch, y batch].
 */
export const gatherBatchOp: OpDef<GatherBatchAttrs> = {
  name: 'gather_batch',
  outputs(inputs, { format, dim, rows, chunks }) {
    const batch = inputs[chunks]!.shape[0]!;
    expectShape('gather_batch', 'y', inputs[chunks + 1]!.shape, [rows]);
    if (format === 'uint8') expectShape('gather_batch', 'meanImage', inputs[chunks + 2]!.shape, [dim]);
    return [
      { name: 'X batch', shape: [batch, dim] },
      { name: 'y batch', shape: [batch], dtype: 'u32' },
    ];
  },
  encode(scope, { inputs, outputs: [out, yOut] }, node) {
    const { format, dim, rows, chunks, chunkRows } = node.attrs;
    const batch = node.inputs[chunks]!.shape[0]!;
    const chunkList = inputs.slice(0, chunks);
    const [indices, y, mean] = inputs.slice(chunks);
    const labels = { y: y!, out: yOut! };
    return format === 'uint8'
      ? createGather(scope, { images: chunkList, chunkRows, mean: mean!, indices: indices!, out: out!, batch, dim, count: rows, labels })
      : createGatherRows(scope, { src: chunkList, chunkRows, indices: indices!, out: out!, batch, dim, rows, labels });
  },
};
