// Minibatch gather on the GPU (shaders/gather.wgsl): rows of packed uint8 images by index, minus the mean image.
import gatherWgsl from '../../shaders/gather.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount, chunkList } from './op-checks.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';

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
  const rows16 = a.dim % 16 === 0 && a.batch <= maxWorkgroupsPerDim && a.dim / 16 / wgRows <= maxWorkgroupsPerDim;
  // Rows of whole 16-byte blocks: one invocation per 16 pixels, row = workgroup y; else one pixel per invocation.
  const kernel = rows16
    ? await getKernel(scope.ctx, { name: 'gather', source: gatherWgsl, entryPoint: 'rows16', constants: { WG: wgRows } })
    : await getKernel(scope.ctx, { name: 'gather', source: gatherWgsl, constants: { WG: 256 } });
  return chunks.map((c) => {
    const uniform = scope.createUniformBuffer(
      kernel,
      'params',
      { batch: a.batch, dim: a.dim, count: a.count, base: c.base, rows: c.rows },
      `${op} params`,
    );
    const label = `${op}${rows16 ? ' rows16' : ''}${chunks.length > 1 ? ` chunk@${c.base}` : ''}`;
    return rows16
      ? createDispatch(
          scope,
          kernel,
          { images16: c.buffer, mean4: a.mean, indices: a.indices, out4: a.out, params: uniform },
          [Math.ceil(a.dim / 16 / wgRows), a.batch, 1],
          label,
        )
      : createDispatch(
          scope,
          kernel,
          { images: c.buffer, mean: a.mean, indices: a.indices, out: a.out, params: uniform },
          gridFor(a.batch * a.dim, 256),
          label,
        );
  });
}

// The graph op: shape rule and encode beside the kernel wrapper (gathered data takes no gradient).

/**
 * A minibatch of images: rows `indices` of uint8 pixels minus the mean image, as f32 [batch, dim].
 * Inputs: the `chunks` image buffers (images [k * chunkRows, ...) each), the indices [batch], the mean image [dim].
 */
export const gatherImagesOp: OpDef<{ dim: number; rows: number; chunks: number; chunkRows: number }> = {
  name: 'gather_images',
  outputs(inputs, { dim, chunks }) {
    expectShape('gather_images', 'meanImage', inputs[chunks + 1]!.shape, [dim]);
    return [{ name: 'X batch', shape: [inputs[chunks]!.shape[0]!, dim] }];
  },
  encode(scope, { inputs, outputs: [out] }, node) {
    const { dim, rows, chunks, chunkRows } = node.attrs;
    const batch = node.inputs[chunks]!.shape[0]!;
    return createGather(scope, {
      images: inputs.slice(0, chunks),
      chunkRows,
      mean: inputs[chunks + 1]!,
      indices: inputs[chunks]!,
      out: out!,
      batch,
      dim,
      count: rows,
    });
  },
};
