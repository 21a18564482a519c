// Matmul launch planning: the variant (walking the table in the adapter class's order), workgroup size, K splits and grid.
import { maxWorkgroupsPerDim } from '../gpu/dispatch.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import { assertCount } from './op-checks.ts';
import { makeFullLayout, matmulVariantOrder, matmulVariants, type MatmulLayout, type MatmulVariant } from './matmul-variants.ts';

/** How a matmul is launched: kernel, block, workgroup size, K splits and grid. */
export interface MatmulPlan {
  variant: MatmulVariant;
  block: number;
  wg: number;
  splits: number;
  kchunk: number;
  blocks: number;
  nb: number;
  workgroups: [number, number, number];
}

/** The knobs a plan can be forced on (tests, benchmarks): every choice an auto plan makes. */
export interface MatmulForce {
  /** Force a kernel (it must be eligible, else its row's reason is thrown); default: the first eligible in the adapter's order. */
  variant?: MatmulVariant;
  /** Force the number of K splits; default aims at enough workgroups for the adapter. */
  splits?: number;
  /** Invocations per workgroup (default 16 on CPU adapters, 64 on GPUs; the tiled kernels' own size). */
  workgroupSize?: number;
}

/**
 * Workgroups a batched product aims at on a GPU by splitting K: a population's per-model blocks are small (50x52: 49
 * invocations of 8x8), so its first layer (K = 3072) is one long K loop per invocation unless split; 2048 workgroups of
 * 64 is about two waves of a 132-SM GPU at the 8x8 block's registers (~100 a lane: some 8 workgroups an SM). With 512,
 * as for one product, 100 nets got 6 splits (a 512-step K loop per invocation on 4 % of an H200's lanes).
 */
export const gpuBatchedTargetGroups = 2048;

/** What the product's stores must do besides C = op(A)·op(B) + bias: a ReLU epilogue (only rows with `reluEpilogue` run it). */
export interface MatmulEpilogue {
  relu?: boolean;
}

/**
 * Pick kernel, workgroup size and K splits for a product on an adapter (CPU: few big workgroups; GPU: many). Any
 * adapter summary will do, so a test can get the plan an NVIDIA GPU would pick and run it forced on SwiftShader.
 *   const plan = planMatmul(gpu.adapter, { m: 50, n: 100, k: 3072 });
 *   plan.splits; // > 1: K is split so the small output still fills the machine
 */
export function planMatmul(
  adapter: AdapterSummary,
  s: MatmulLayout & MatmulForce & MatmulEpilogue & { subgroupQuads?: boolean; workgroupStorage?: number },
): MatmulPlan {
  const cpu = isCpuAdapter(adapter);
  const caps = { cpu, subgroupQuads: s.subgroupQuads ?? false, workgroupStorage: s.workgroupStorage };
  const f = makeFullLayout(s);
  const shape = `matmul ${s.m}x${s.n}x${s.k}${f.transA ? ' transA' : ''}${f.transB ? ' transB' : ''}`;
  let row;
  if (s.variant !== undefined) {
    row = matmulVariants[s.variant];
    if (!row) throw new Error(`${shape}: no matmul variant '${s.variant}' (one of ${Object.keys(matmulVariants).join(', ')})`);
    const ok = row.eligible(f, caps);
    if (ok !== true) throw new Error(`${shape}: ${ok}`);
    if (s.relu && !row.reluEpilogue) throw new Error(`${shape}: the ${row.name} kernel has no ReLU epilogue`);
  } else {
    const order = matmulVariantOrder(cpu).map((name) => matmulVariants[name]);
    row = order.find((r) => r.eligible(f, caps) === true && (r.worthIt?.(f) ?? true) && (!s.relu || r.reluEpilogue));
    if (!row) throw new Error(`${shape}: no matmul variant in [${matmulVariantOrder(cpu).join(', ')}] can run it`);
  }
  const wg = s.workgroupSize ?? row.workgroupSize ?? (cpu ? 16 : 64);
  assertCount(`matmul ${s.m}x${s.n}x${s.k}`, 'workgroupSize', wg);
  if (row.workgroupSize !== undefined && wg !== row.workgroupSize)
    throw new Error(`${shape}: ${row.name} is written for workgroups of ${row.workgroupSize} invocations, got ${wg}`);
  if (wg % row.wgMultiple !== 0)
    throw new Error(`${shape}: ${row.name} needs a workgroup size that is a multiple of ${row.wgMultiple}, got ${wg}`);
  const { nb, blocks, invocations } = row.grid(f);
  const groups = Math.ceil(invocations / wg);
  const batches = f.batches;
  // SwiftShader hands workgroups to 16 task batches over its threads; a GPU wants a few per SM (batched products: gpuBatchedTargetGroups).
  const targetGroups = cpu ? 16 : batches > 1 ? gpuBatchedTargetGroups : 512;
  const minChunk = cpu ? 64 : 128;
  const perSplit = row.overBatches ? groups : groups * batches;
  let splits = s.splits ?? Math.max(1, Math.min(Math.floor(s.k / minChunk), Math.ceil(targetGroups / perSplit)));
  assertCount(`matmul ${s.m}x${s.n}x${s.k}`, 'splits', splits);
  const kq = row.kMultiple ?? 4;
  const kchunk = Math.ceil(Math.ceil(s.k / splits) / kq) * kq;
  splits = Math.ceil(s.k / kchunk);
  const x = Math.min(groups, maxWorkgroupsPerDim);
  const y = Math.ceil(groups / x);
  const z = row.overBatches ? splits : splits * batches;
  if (y > maxWorkgroupsPerDim || z > maxWorkgroupsPerDim)
    throw new Error(
      `matmul ${s.m}x${s.n}x${s.k}: too large for one dispatch (${groups} workgroups x ${splits} splits x ${batches} batches)`,
    );
  return { variant: row.name, block: row.block, wg, splits, kchunk, blocks, nb, workgroups: [x, y, z] };
}
