// Initial weights on the GPU: one dispatch draws a tensor's scale · N(0, 1) values for one net or a population (shaders/init-normal.wgsl).
import initNormalWgsl from '../../shaders/init-normal.wgsl?raw';
import philoxWgsl from '../../shaders/lib/philox.wgsl?raw';
import { getKernel, linkWgsl } from '../gpu/kernel.ts';
import { createDispatch, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';

/** One net's draw: its Philox key (its seed's two words, `makeInitKey(seed)` of src/reference/philox.ts) and its scale (the weightScale). */
export interface NormalInitMember {
  key: readonly [number, number];
  scale: number;
}

/** Invocations per workgroup; each invocation draws one Philox group (four values) at a time. */
const wg = 64;

/**
 * Record the draw of tensor `stream` (the layer l of W_l) for every member: member k's [rows, cols] values, element e
 * being `scale · normal(seed, stream, e)` as `fillInitNormals` computes it in float64, written into its block
 * [storedRows, storedCols] (default [rows, cols]) at k·storedRows·storedCols; the rest of a block (a population's
 * padding) is left as it is, zero in a new store.
 *   const d = await createNormalInit(scope, { out: params.ref('W1'), rows: 3072, cols: 100, stream: 1, members: [{ key: makeInitKey(0), scale: 1e-2 }] });
 *   await runDispatches(gpu, [d]);
 */
export async function createNormalInit(
  scope: GpuScope,
  a: {
    out: TensorRef;
    rows: number;
    cols: number;
    storedRows?: number;
    storedCols?: number;
    stream: number;
    members: readonly NormalInitMember[];
    /** At most this many workgroups (default 65535, a dimension's limit); the kernel grid-strides over the rest (tests force a few). */
    maxWorkgroups?: number;
  },
): Promise<Dispatch> {
  const { rows, cols, storedRows = a.rows, storedCols = a.cols, stream, members } = a;
  const stored = storedRows !== rows || storedCols !== cols ? ` stored [${storedRows},${storedCols}]` : '';
  const op = `init_normal W${stream} [${rows},${cols}]${stored} x${members.length}`;
  assertCount(op, 'rows', rows);
  assertCount(op, 'cols', cols);
  assertCount(op, 'storedRows', storedRows, rows);
  assertCount(op, 'storedCols', storedCols, cols);
  assertCount(op, 'stream', stream, 0);
  if (!Array.isArray(members) || members.length < 1) throw new Error(`${op}: members must list at least one net`);
  const keys = new Uint32Array(2 * members.length);
  const scales = new Float32Array(members.length);
  members.forEach((m, k) => {
    if (m.key?.length !== 2 || !m.key.every((w: number) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff))
      throw new Error(`${op}: members[${k}].key must be two u32 words, got ${JSON.stringify(m.key)}`);
    if (!Number.isFinite(m.scale) || m.scale < 0)
      throw new Error(`${op}: members[${k}].scale must be a finite number >= 0, got ${m.scale}`);
    keys.set(m.key, 2 * k);
    scales[k] = m.scale;
  });
  const groups = Math.ceil((rows * cols) / 4);
  const invocations = groups * members.length;
  assertBuffer(op, 'out', a.out, members.length * storedRows * storedCols);
  const { maxWorkgroups = maxWorkgroupsPerDim } = a;
  assertCount(op, 'maxWorkgroups', maxWorkgroups);
  const grid: [number, number, number] = [Math.min(maxWorkgroups, maxWorkgroupsPerDim, Math.ceil(invocations / wg)), 1, 1];
  // the grid-stride loop's index must not wrap: every index it reaches, plus one stride, is a u32
  if (invocations + grid[0] * wg > 0xffffffff) throw new Error(`${op}: ${invocations} Philox groups are more than one dispatch counts`);
  const kernel = await getKernel(scope.ctx, { name: 'init-normal', source: linkWgsl(philoxWgsl, initNormalWgsl), constants: { WG: wg } });
  const params = scope.createUniformBuffer(
    kernel,
    'params',
    { rows, cols, storedRows, storedCols, groups, models: members.length, stream },
    op,
  );
  return createDispatch(
    scope,
    kernel,
    {
      out: a.out,
      keys: scope.createTensorBuffer(keys, `${op} keys`),
      scales: scope.createTensorBuffer(scales, `${op} scales`),
      params,
    },
    grid,
    op,
  );
}
