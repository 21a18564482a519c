// Argument checks and launch shapes shared by the device-resident ops: buffer sizes, counts, column-reduction tiling.
import { refSize, type TensorRef } from '../gpu/buffers.ts';

/**
 * Throw unless `buffer` holds at least `count` 4-byte elements; the message names the op and the argument.
 *   assertBuffer('batchnorm.forward n=50 d=100', 'x', x, 50 * 100);
 *   // Error: batchnorm.forward n=50 d=100: x has 4000 bytes, needs 20000 (5000 x 4)
 */
export function assertBuffer(op: string, name: string, buffer: TensorRef, count: number): void {
  const size = refSize(buffer);
  if (size < count * 4) throw new Error(`${op}: ${name} has ${size} bytes, needs ${count * 4} (${count} x 4)`);
}

/**
 * `assertBuffer` for several arguments of one size: each must hold at least `count` 4-byte elements.
 *   assertBuffers('layernorm.forward n=50 d=100', { x, out }, 50 * 100);
 *   // Error: layernorm.forward n=50 d=100: out has 4000 bytes, needs 20000 (5000 x 4)
 */
export function assertBuffers(op: string, buffers: Record<string, TensorRef>, count: number): void {
  for (const [name, buffer] of Object.entries(buffers)) assertBuffer(op, name, buffer, count);
}

/**
 * Throw unless `value` is an integer >= `min` (a shape or an index).
 *   assertCount('softmax', 'n', 50);
 *   assertCount('softmax', 'n', 0); // Error: softmax: n must be an integer >= 1, got 0
 */
export function assertCount(op: string, name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min || value > 0xffffffff)
    throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${value}`);
}

/**
 * The chunks of a data set as { buffer, base, rows }: one buffer is one chunk of every row; several need
 * `chunkRows` and must cover exactly `count` rows.
 *   chunkList('gather', [b0, b1], 49000, 40000); // [{ buffer: b0, base: 0, rows: 40000 }, { buffer: b1, base: 40000, rows: 9000 }]
 */
export function chunkList(
  op: string,
  buffers: TensorRef | TensorRef[],
  count: number,
  chunkRows?: number,
): { buffer: TensorRef; base: number; rows: number }[] {
  const list = Array.isArray(buffers) ? buffers : [buffers];
  if (list.length === 0) throw new Error(`${op}: no data buffer`);
  if (list.length === 1) return [{ buffer: list[0]!, base: 0, rows: count }];
  if (chunkRows === undefined || !Number.isInteger(chunkRows) || chunkRows < 1)
    throw new Error(`${op}: ${list.length} chunks need chunkRows (rows per chunk), got ${chunkRows}`);
  if (Math.ceil(count / chunkRows) !== list.length) {
    throw new Error(
      `${op}: ${list.length} chunks of ${chunkRows} rows do not hold ${count} rows (that takes ${Math.ceil(count / chunkRows)})`,
    );
  }
  return list.map((buffer, k) => ({ buffer, base: k * chunkRows, rows: Math.min(chunkRows, count - k * chunkRows) }));
}

/** How a column reduction over an [n, d] array is cut: COLS x ROWS workgroups over column tiles and row chunks. */
export interface ColumnTiling {
  cols: number;
  rows: number;
  colTiles: number;
  chunks: number;
  chunkRows: number;
}

/** Rows a chunk keeps at least (32 per row-lane at ROWS = 8), so small batches stay one chunk and one pass. */
const minChunkRows = 256;
/** Workgroups wanted in flight for large batches on a real GPU. */
const targetWorkgroups = 1024;

/**
 * Tile a column reduction: up to 32 adjacent columns per workgroup (coalesced), the rest of the 256
 * invocations as row-lanes, and the rows cut into chunks of at least `minRows` (256) only when the batch is large and
 * the columns few.
 *   columnTiling(100, 500);   // { cols: 32, rows: 8, colTiles: 16, chunks: 1, chunkRows: 100 }
 *   columnTiling(4096, 1024); // { cols: 32, rows: 8, colTiles: 32, chunks: 16, chunkRows: 256 }
 */
export function columnTiling(n: number, d: number, minRows = minChunkRows): ColumnTiling {
  let cols = 1;
  while (cols < d && cols < 32) cols *= 2;
  const rows = 256 / cols;
  const colTiles = Math.ceil(d / cols);
  if (colTiles > 65535) throw new Error(`column reduction: d = ${d} needs ${colTiles} workgroups in x, more than 65535`);
  const maxChunks = Math.max(1, Math.floor(n / minRows));
  const wanted = Math.max(1, Math.ceil(targetWorkgroups / colTiles));
  let chunks = Math.min(maxChunks, wanted);
  const chunkRows = Math.ceil(n / chunks);
  chunks = Math.ceil(n / chunkRows);
  return { cols, rows, colTiles, chunks, chunkRows };
}
