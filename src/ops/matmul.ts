// Matmul C = op(A)·op(B) (+ bias): launch planning (block kernel, split-K), GPU encode (shaders/matmul*.wgsl behind
// shaders/lib/matmul-common.wgsl); the host form is in matmul-host.ts.
import matmulCommonWgsl from '../../shaders/lib/matmul-common.wgsl?raw';
import matmulWgsl from '../../shaders/matmul.wgsl?raw';
import matmulV8Wgsl from '../../shaders/matmul-v8.wgsl?raw';
import matmulSubgroupsWgsl from '../../shaders/matmul-subgroups.wgsl?raw';
import { createBindGroup, getKernel, linkWgsl } from '../gpu/kernel.ts';
import { refBuffer, refSize, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import { isCpuAdapter, subgroupQuads } from '../gpu/probes.ts';
import { assertBuffer, assertCount } from './op-checks.ts';

/**
 * Which kernel runs: 8x8 blocks with scalar loads (any shape), 4x4 blocks with vec4 loads (aligned dense shapes;
 * the GPUs'), 8x8 blocks with vec4 loads (aligned shapes, batched and strided too; the CPU adapters'), or those
 * with A's loads shared by the 4 lanes of a subgroup over the whole width of every batch (`block8sg`: products
 * sharing A, on CPU adapters whose subgroups are 4 lanes; shaders/matmul-subgroups.wgsl).
 */
export type MatmulVariant = 'block8' | 'vec4' | 'block8vec4' | 'block8sg';

export interface MatmulArgs {
  a: TensorRef;
  b: TensorRef;
  /** Output, m×n; must not alias a or b. */
  c: TensorRef;
  /** Added to every row of C (n values). */
  bias?: TensorRef;
  m: number;
  n: number;
  k: number;
  /** A is stored k×m (C = Aᵀ·B). */
  transA?: boolean;
  /** B is stored n×k (C = A·Bᵀ). */
  transB?: boolean;
  /** Tuning knob (benchmarks, tests): force a kernel; default picks per adapter and alignment. */
  variant?: MatmulVariant;
  /** Tuning knob: force the number of K splits; default aims at enough workgroups for the adapter. */
  splits?: number;
  /** Tuning knob: invocations per workgroup (default 16 on CPU adapters, 64 on GPUs). */
  workgroupSize?: number;
  /** Row strides of the stored A, B and C in elements (default dense: k or m, n or k, n); a column block of a wider matrix is an operand. */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** `count` independent products in one dispatch, batch i at i·a, i·b, i·c (and i·bias) elements (a = 0 shares A). */
  batch?: MatmulBatch;
}

/** The batches of a batched matmul: how many, and the element offsets from one batch's A, B, C and bias to the next. */
export interface MatmulBatch {
  count: number;
  a: number;
  b: number;
  c: number;
  bias?: number;
}

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

/**
 * Whether the vec4 kernel can run: every vec4 load must start on a multiple of 4 floats
 * (k % 4 is free only for Aᵀ·B, whose vec4s run along m and n).
 *   vec4Eligible(50, 100, 3072, false, false); // true (k % 4 == 0, n % 4 == 0)
 *   vec4Eligible(3072, 100, 50, true, false);  // true: Aᵀ·B with m, n multiples of 4
 */
export function vec4Eligible(m: number, n: number, k: number, transA = false, transB = false): boolean {
  return (k % 4 === 0 || (transA && !transB)) && (!transA || m % 4 === 0) && (transB || n % 4 === 0);
}

/**
 * Whether the 8x8 vec4 kernel (`block8vec4`) can run: the vec4 alignment of `vec4Eligible`, not Aᵀ·Bᵀ, and the
 * row strides and batch offsets of A and B multiples of 4 floats (so every vec4 starts on one).
 *   block8vec4Eligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, batchA: 0, batchB: 3072 * 52 }); // true
 *   block8vec4Eligible({ m: 50, n: 50, k: 3072, lda: 3072, ldb: 50, batchA: 0, batchB: 0 });        // false: rows of B are 50 floats
 */
export function block8vec4Eligible(s: {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  lda: number;
  ldb: number;
  batchA?: number;
  batchB?: number;
}): boolean {
  if (s.transA && s.transB) return false;
  return vec4Eligible(s.m, s.n, s.k, s.transA, s.transB) && [s.lda, s.ldb, s.batchA ?? 0, s.batchB ?? 0].every((v) => v % 4 === 0);
}

/**
 * Whether `block8sg` can run: block8vec4's alignment, not A·Bᵀ, A shared by every batch (one product, or batchA 0),
 * n, ldc and the batch offset of C multiples of 4 (it stores vec4s, and a vec4 column belongs to one batch). The
 * device must pass `subgroupQuads` too.
 *   block8sgEligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, ldc: 1040, batches: 20, batchA: 0, batchB: 3072 * 52, batchC: 52 }); // true
 */
export function block8sgEligible(s: {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  lda: number;
  ldb: number;
  ldc: number;
  batches?: number;
  batchA?: number;
  batchB?: number;
  batchC?: number;
}): boolean {
  const shared = (s.batches ?? 1) === 1 || (s.batchA ?? 0) === 0;
  return !s.transB && shared && block8vec4Eligible(s) && [s.n, s.ldc, s.batchC ?? 0].every((v) => v % 4 === 0);
}

/**
 * Pick kernel, workgroup size and K splits for a shape on an adapter (CPU: few big workgroups; GPU: many).
 *   const plan = planMatmul(gpu.adapter, { m: 50, n: 100, k: 3072 });
 *   plan.splits; // > 1: K is split so the small output still fills the machine
 */
export function planMatmul(
  adapter: AdapterSummary,
  s: {
    m: number;
    n: number;
    k: number;
    transA?: boolean;
    transB?: boolean;
    variant?: MatmulVariant;
    splits?: number;
    workgroupSize?: number;
    batches?: number;
    strided?: boolean;
    /** Whether the operands suit block8vec4 (block8vec4Eligible); default false. */
    v8?: boolean;
    /** Whether they suit block8sg on this device (block8sgEligible and subgroupQuads); default false. */
    sg?: boolean;
  },
): MatmulPlan {
  const cpu = isCpuAdapter(adapter);
  const batches = s.batches ?? 1;
  const shape = `matmul ${s.m}x${s.n}x${s.k}${s.transA ? ' transA' : ''}${s.transB ? ' transB' : ''}`;
  // main_vec4 reads dense, unbatched operands only
  const aligned = vec4Eligible(s.m, s.n, s.k, s.transA, s.transB) && batches === 1 && !s.strided;
  // block8sg's quads of 4 column blocks share a row block: it is picked where that wastes at most ~1/8 of the lanes
  const wide = Math.ceil((s.n * batches) / 8);
  const sgFits = 4 * Math.ceil(wide / 4) <= 1.15 * wide;
  const variant = s.variant ?? (cpu ? (s.sg && sgFits ? 'block8sg' : s.v8 ? 'block8vec4' : 'block8') : aligned ? 'vec4' : 'block8');
  if (variant === 'vec4' && !aligned) {
    throw new Error(
      `${shape}: the vec4 kernel needs dense unbatched operands, m % 4 == 0 when transA, n % 4 == 0 unless transB, and k % 4 == 0 unless transA without transB`,
    );
  }
  if (variant === 'block8vec4' && !s.v8) {
    throw new Error(
      `${shape}: the block8vec4 kernel needs m % 4 == 0 when transA, n % 4 == 0 unless transB, k % 4 == 0 unless transA, not both transposed, and row strides and batch offsets of A and B that are multiples of 4`,
    );
  }
  if (variant === 'block8sg' && !s.sg) {
    throw new Error(
      `${shape}: the block8sg kernel needs block8vec4's alignment, not transB, A shared by every batch, n, ldc and C's batch offset multiples of 4, and a device whose subgroups are 4 consecutive invocations (subgroupQuads)`,
    );
  }
  const block = variant === 'vec4' ? 4 : 8;
  const wg = s.workgroupSize ?? (cpu ? 16 : 64);
  assertCount(`matmul ${s.m}x${s.n}x${s.k}`, 'workgroupSize', wg);
  if (variant === 'block8sg' && wg % 4 !== 0)
    throw new Error(`${shape}: block8sg needs a workgroup size that is a multiple of 4, got ${wg}`);
  // block8sg: nb counts column blocks over every batch's columns, `blocks` the quads (4 column blocks of one row block)
  const sg = variant === 'block8sg';
  const nb = sg ? wide : Math.ceil(s.n / block);
  const blocks = Math.ceil(s.m / block) * (sg ? Math.ceil(nb / 4) : nb);
  // block8vec4 and block8sg number blocks over every batch (z is the K splits alone); the others launch one grid per batch
  const flat = variant === 'block8vec4' || sg;
  const invocations = sg ? 4 * blocks : flat ? blocks * batches : blocks;
  const groups = Math.ceil(invocations / wg);
  // SwiftShader hands workgroups to 16 task batches over its threads; a GPU wants a few per SM.
  const targetGroups = cpu ? 16 : 512;
  const minChunk = cpu ? 64 : 128;
  let splits = s.splits ?? Math.max(1, Math.min(Math.floor(s.k / minChunk), Math.ceil(targetGroups / (flat ? groups : groups * batches))));
  assertCount(`matmul ${s.m}x${s.n}x${s.k}`, 'splits', splits);
  const kchunk = Math.ceil(Math.ceil(s.k / splits) / 4) * 4;
  splits = Math.ceil(s.k / kchunk);
  const x = Math.min(groups, maxWorkgroupsPerDim);
  const y = Math.ceil(groups / x);
  const z = flat ? splits : splits * batches;
  if (y > maxWorkgroupsPerDim || z > maxWorkgroupsPerDim)
    throw new Error(
      `matmul ${s.m}x${s.n}x${s.k}: too large for one dispatch (${groups} workgroups x ${splits} splits x ${batches} batches)`,
    );
  return { variant, block, wg, splits, kchunk, blocks, nb, workgroups: [x, y, z] };
}

function layoutName(transA?: boolean, transB?: boolean): string {
  return `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
}

/**
 * The linked WGSL of a variant's kernel file (and `reduce`'s, with `block8`'s): the common declarations first, and
 * for block8sg `enable subgroups;` before them (it must open the module) and block8vec4's accumulation (rank4).
 */
function matmulSource(variant: MatmulVariant): { name: string; source: string } {
  if (variant === 'block8sg')
    return { name: 'matmul-subgroups', source: linkWgsl('enable subgroups;', matmulCommonWgsl, matmulV8Wgsl, matmulSubgroupsWgsl) };
  if (variant === 'block8vec4') return { name: 'matmul-v8', source: linkWgsl(matmulCommonWgsl, matmulV8Wgsl) };
  return { name: 'matmul', source: linkWgsl(matmulCommonWgsl, matmulWgsl) };
}

/**
 * Record C (m×n) = op(A)·op(B) (+ bias[n] on every row), all row-major f32; op(A) is m×k (A stored k×m
 * when transA), op(B) is k×n (B stored n×k when transB). One dispatch, or two when K is split.
 *   const mm = await createMatmul(scope, { a: x, b: w, c: out, bias: b, m: 50, n: 100, k: 3072 });
 *   await runDispatches(gpu, mm);
 */
export async function createMatmul(scope: GpuScope, args: MatmulArgs): Promise<Dispatch[]> {
  const { m, n, k, transA = false, transB = false } = args;
  const batch = args.batch ?? { count: 1, a: 0, b: 0, c: 0, bias: 0 };
  const op = `matmul ${batch.count > 1 ? `${batch.count}x ` : ''}${m}x${n}x${k} (${layoutName(transA, transB)})`;
  assertCount(op, 'm', m);
  assertCount(op, 'n', n);
  assertCount(op, 'k', k);
  assertCount(op, 'batch.count', batch.count);
  // stored shapes: A is rows×cols = (transA ? k×m : m×k), B (transB ? n×k : k×n), C m×n
  const [ar, ac] = transA ? [k, m] : [m, k];
  const [br, bc] = transB ? [n, k] : [k, n];
  const lda = args.lda ?? ac;
  const ldb = args.ldb ?? bc;
  const ldc = args.ldc ?? n;
  for (const [name, ld, cols] of [
    ['lda', lda, ac],
    ['ldb', ldb, bc],
    ['ldc', ldc, n],
  ] as const) {
    if (!Number.isInteger(ld) || ld < cols) throw new Error(`${op}: ${name} ${ld} is below the ${cols} columns of the stored operand`);
  }
  for (const key of ['a', 'b', 'c', 'bias'] as const) assertCount(op, `batch.${key}`, batch[key] ?? 0, 0);
  /** Elements an operand spans: the last batch's last row's last column, plus one. */
  const extent = (step: number, rows: number, ld: number, cols: number) => (batch.count - 1) * step + (rows - 1) * ld + cols;
  assertBuffer(op, transA ? 'a (k×m)' : 'a (m×k)', args.a, extent(batch.a, ar, lda, ac));
  assertBuffer(op, transB ? 'b (n×k)' : 'b (k×n)', args.b, extent(batch.b, br, ldb, bc));
  assertBuffer(op, 'c (m×n)', args.c, extent(batch.c, m, ldc, n));
  if (args.bias) assertBuffer(op, 'bias (n)', args.bias, (batch.count - 1) * (batch.bias ?? 0) + n);
  if (refBuffer(args.c) === refBuffer(args.a) || refBuffer(args.c) === refBuffer(args.b))
    throw new Error(`${op}: c must not be the same buffer as a or b`);

  const strided = lda !== ac || ldb !== bc || ldc !== n;
  // vec4 views read whole vec4s only: the bound ranges of A and B must be too
  const v8 =
    block8vec4Eligible({ m, n, k, transA, transB, lda, ldb, batchA: batch.a, batchB: batch.b }) &&
    refSize(args.a) % 16 === 0 &&
    refSize(args.b) % 16 === 0;
  const sg =
    v8 &&
    block8sgEligible({ m, n, k, transA, transB, lda, ldb, ldc, batches: batch.count, batchA: batch.a, batchB: batch.b, batchC: batch.c }) &&
    refSize(args.c) % 16 === 0 &&
    isCpuAdapter(scope.ctx.adapter) &&
    (await subgroupQuads(scope.ctx));
  const plan = planMatmul(scope.ctx.adapter, {
    m,
    n,
    k,
    transA,
    transB,
    variant: args.variant,
    splits: args.splits,
    workgroupSize: args.workgroupSize,
    batches: batch.count,
    strided,
    v8,
    sg,
  });
  const split = plan.splits > 1;
  const hasBias = args.bias !== undefined;
  const bias = args.bias ?? scope.createTensorBuffer(4, 'matmul.nobias');
  // block8vec4 stores vec4s too where C's rows and batch blocks start on them (main_v8c)
  const storeVec4 =
    plan.variant === 'block8vec4' && n % 4 === 0 && ldc % 4 === 0 && batch.c % 4 === 0 && (split || refSize(args.c) % 16 === 0);
  const sgKernel = plan.variant === 'block8sg';
  const entryPoint = storeVec4
    ? 'main_v8c'
    : { vec4: 'main_vec4', block8vec4: 'main_v8', block8: 'main', block8sg: 'main_v8s' }[plan.variant];
  const kernel = await getKernel(scope.ctx, {
    ...matmulSource(plan.variant),
    entryPoint,
    constants: { TRANS_A: +transA, TRANS_B: +transB, HAS_BIAS: +(hasBias && !split), WG: plan.wg },
  });
  const uniforms = {
    m,
    n,
    k,
    kchunk: plan.kchunk,
    nb: plan.nb,
    blocks: plan.blocks,
    splits: plan.splits,
    lda,
    ldb,
    ldc,
    batches: batch.count,
    batchA: batch.a,
    batchB: batch.b,
    batchC: batch.c,
    batchBias: batch.bias ?? 0,
  };
  const params = scope.createUniformBuffer(kernel, 'params', uniforms, `${op} params`);
  const target = split ? scope.createTensorBuffer(plan.splits * batch.count * m * n * 4, `${op} partials`) : args.c;
  const inputs: Record<string, TensorRef> = plan.variant === 'block8' ? { a: args.a, b: args.b } : { av: args.a, bv: args.b };
  const label = `${op} ${plan.variant}${storeVec4 ? ' (vec4 stores)' : ''} wg=${plan.wg}${split ? ` splitK=${plan.splits}` : ''}${hasBias && !split ? ' +bias' : ''}`;
  const main: Dispatch = {
    kernel,
    // main_v8c and main_v8s store vec4s (the `cv` view of C)
    bindGroup: createBindGroup(scope.ctx, kernel, { ...inputs, [storeVec4 || sgKernel ? 'cv' : 'c']: target, bias, params }),
    workgroups: plan.workgroups,
    label,
  };
  if (!split) return [main];
  const reduceWg = 64;
  const reduce = await getKernel(scope.ctx, {
    ...matmulSource('block8'),
    entryPoint: 'reduce',
    constants: { HAS_BIAS: +hasBias, WG: reduceWg },
  });
  const reduceParams = scope.createUniformBuffer(reduce, 'params', uniforms, `${op} reduce params`);
  return [
    main,
    {
      kernel: reduce,
      bindGroup: createBindGroup(scope.ctx, reduce, { part: target, c: args.c, bias, params: reduceParams }),
      workgroups: [Math.min(maxWorkgroupsPerDim, Math.ceil((batch.count * m * n) / reduceWg)), 1, 1],
      label: `${op} reduce ${plan.splits} splits${hasBias ? ' +bias' : ''}`,
    },
  ];
}
