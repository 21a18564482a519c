// The matmul variant table: one row per kernel (its WGSL files, entry point, bindings, block, grid, and when it can run).
import matmulCommonWgsl from '../../shaders/lib/matmul-common.wgsl?raw';
import matmulWgsl from '../../shaders/matmul.wgsl?raw';
import matmulV8Wgsl from '../../shaders/matmul-v8.wgsl?raw';
import matmulSubgroupsWgsl from '../../shaders/matmul-subgroups.wgsl?raw';
import { tiledRows } from './matmul-tiled.ts';

/**
 * Which kernel runs: 8x8 blocks with scalar loads (any shape), 4x4 blocks with vec4 loads (aligned dense shapes;
 * the GPUs'), 8x8 blocks with vec4 loads (aligned shapes, batched and strided too; the CPU adapters'), or those
 * with A's loads shared by the 4 lanes of a subgroup over the whole width of every batch (`block8sg`: products
 * sharing A, on devices whose subgroups are 4 lanes; shaders/matmul-subgroups.wgsl).
 */
export type MatmulVariant = 'block8' | 'vec4' | 'block8vec4' | 'block8sg' | TiledVariant;
/** The workgroup-memory tiled kernels (shaders/matmul-tiled.wgsl, rows in matmul-tiled.ts): any shape, layout and batch. */
export type TiledVariant = 'tile128' | 'tile64' | 'tile128k16';

/** A product C (m×n) = op(A)·op(B) over k: its sizes, which operand is stored transposed, the stored row strides. */
export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  /** A is stored k×m (C = Aᵀ·B). */
  transA?: boolean;
  /** B is stored n×k (C = A·Bᵀ). */
  transB?: boolean;
  /** Row strides of the stored A, B and C in elements (default dense: k or m, n or k, n); a column block of a wider matrix is an operand. */
  lda?: number;
  ldb?: number;
  ldc?: number;
}

/** A product as the variants see it: its shape, batches and the bytes bound (all but m, n, k optional). */
export interface MatmulLayout extends MatmulShape {
  /** Products in one dispatch and the element offsets from one batch's A, B and C to the next (default 1, 0, 0, 0). */
  batches?: number;
  batchA?: number;
  batchB?: number;
  batchC?: number;
  /** Bytes bound for A, B and C where known (vec4 views read whole vec4s); default: a multiple of 16. */
  bytesA?: number;
  bytesB?: number;
  bytesC?: number;
}

/** What the device offers the variants: a software adapter, and 4-lane subgroups of consecutive invocations (the probe). */
export interface MatmulCaps {
  cpu: boolean;
  subgroupQuads: boolean;
  /** The device's maxComputeWorkgroupStorageSize in bytes (default the WebGPU default, 16384). */
  workgroupStorage?: number;
}

/** One kernel: where its code is, how it is bound and launched, and when it can run. */
export interface MatmulVariantRow {
  name: MatmulVariant;
  /** The kernel cache's module name and the WGSL texts linked in order (the common prelude first). */
  module: string;
  sources: readonly string[];
  entryPoint: string;
  /** Binding names of A, B and C (vec4 views are `av`, `bv`, `cv`). */
  bindings: { a: string; b: string; c: string };
  /** Rows and columns of C per invocation. */
  block: number;
  /** One grid numbers the blocks of every batch (z is the K splits alone); otherwise z = splits × batches. */
  overBatches: boolean;
  /** The workgroup size must be a multiple of this. */
  wgMultiple: number;
  /** The one workgroup size the kernel is written for, where it has one (the default, and a forced other size throws). */
  workgroupSize?: number;
  /** K chunks of split K are rounded up to a multiple of this (default 4; the tiled kernels' K tile depth). */
  kMultiple?: number;
  /** True, or why the kernel cannot run this product on this device (a forced variant throws it). */
  eligible(s: MatmulLayout, caps: MatmulCaps): true | string;
  /** Auto plans pass over the row where it would waste the machine (forcing it still runs it). */
  worthIt?(s: MatmulLayout): boolean;
  /** Column blocks `nb` (the uniform), the blocks the grid counts, and the invocations it launches. */
  grid(s: MatmulLayout): { nb: number; blocks: number; invocations: number };
  /** Its stores apply the ReLU epilogue of shaders/lib/matmul-common.wgsl (`act`, `act4`); a product with `relu` runs only on such rows. */
  reluEpilogue?: boolean;
  /** A store mode: another entry point and C binding where C's rows and batches start on vec4s (main_v8c). */
  vec4Store?: { entryPoint: string; c: string; when(s: MatmulLayout, split: boolean): boolean };
}

/**
 * The product with every default filled in: dense strides, one batch, offsets 0, bound bytes whole vec4s.
 *   makeFullLayout({ m: 50, n: 100, k: 3072, transA: true }).lda; // 50 (A stored k×m)
 *   makeFullLayout({ m: 50, n: 100, k: 3072 }).batches;          // 1
 */
export function makeFullLayout(s: MatmulLayout): Required<MatmulLayout> {
  const ac = s.transA ? s.m : s.k;
  const bc = s.transB ? s.k : s.n;
  return {
    transA: false,
    transB: false,
    lda: ac,
    ldb: bc,
    ldc: s.n,
    batches: 1,
    batchA: 0,
    batchB: 0,
    batchC: 0,
    bytesA: 16,
    bytesB: 16,
    bytesC: 16,
    ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)),
  } as Required<MatmulLayout>;
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
export function block8vec4Eligible(s: MatmulLayout): boolean {
  const f = makeFullLayout(s);
  if (f.transA && f.transB) return false;
  return vec4Eligible(f.m, f.n, f.k, f.transA, f.transB) && [f.lda, f.ldb, f.batchA, f.batchB].every((v) => v % 4 === 0);
}

/**
 * Whether `block8sg` can run the product: block8vec4's alignment, not A·Bᵀ, A shared by every batch (one product,
 * or batchA 0), n, ldc and the batch offset of C multiples of 4 (it stores vec4s, and a vec4 column belongs to one
 * batch). The device must pass `subgroupQuads` too (the row checks that).
 *   block8sgEligible({ m: 50, n: 52, k: 3072, lda: 3072, ldb: 52, ldc: 1040, batches: 20, batchA: 0, batchB: 3072 * 52, batchC: 52 }); // true
 */
export function block8sgEligible(s: MatmulLayout): boolean {
  const f = makeFullLayout(s);
  const shared = f.batches === 1 || f.batchA === 0;
  return !f.transB && shared && block8vec4Eligible(f) && [f.n, f.ldc, f.batchC].every((v) => v % 4 === 0);
}

const tiles = (block: number, overBatches: boolean) => (s: MatmulLayout) => {
  const f = makeFullLayout(s);
  const nb = Math.ceil(f.n / block);
  const blocks = Math.ceil(f.m / block) * nb;
  return { nb, blocks, invocations: overBatches ? blocks * f.batches : blocks };
};
const wholeVec4s = (f: Required<MatmulLayout>) => f.bytesA % 16 === 0 && f.bytesB % 16 === 0;
const sgBlocks = (f: Required<MatmulLayout>) => Math.ceil((f.n * f.batches) / 8);
const mainSources = [matmulCommonWgsl, matmulWgsl];

/** The variants, by name. Auto plans walk them in `matmulVariantOrder`; a forced one runs if `eligible` says true. */
export const matmulVariants: Readonly<Record<MatmulVariant, MatmulVariantRow>> = {
  block8sg: {
    name: 'block8sg',
    reluEpilogue: true,
    module: 'matmul-subgroups',
    // `enable subgroups;` must open the module; rank4 comes from matmul-v8.wgsl
    sources: ['enable subgroups;', matmulCommonWgsl, matmulV8Wgsl, matmulSubgroupsWgsl],
    entryPoint: 'main_v8s',
    bindings: { a: 'av', b: 'bv', c: 'cv' },
    block: 8,
    overBatches: true,
    wgMultiple: 4,
    eligible: (s, caps) =>
      (block8sgEligible(s) && wholeVec4s(makeFullLayout(s)) && makeFullLayout(s).bytesC % 16 === 0 && caps.subgroupQuads) ||
      "the block8sg kernel needs block8vec4's alignment, not transB, A shared by every batch, n, ldc and C's batch offset multiples of 4, and a device whose subgroups are 4 consecutive invocations (subgroupQuads)",
    // its quads of 4 column blocks share a row block: worth it where that idles at most ~1/8 of the lanes
    worthIt: (s) => {
      const wide = sgBlocks(makeFullLayout(s));
      return 4 * Math.ceil(wide / 4) <= 1.15 * wide;
    },
    // nb counts column blocks over every batch's columns, `blocks` the quads (4 column blocks of one row block)
    grid: (s) => {
      const f = makeFullLayout(s);
      const nb = sgBlocks(f);
      const blocks = Math.ceil(f.m / 8) * Math.ceil(nb / 4);
      return { nb, blocks, invocations: 4 * blocks };
    },
  },
  block8vec4: {
    name: 'block8vec4',
    reluEpilogue: true,
    module: 'matmul-v8',
    sources: [matmulCommonWgsl, matmulV8Wgsl],
    entryPoint: 'main_v8',
    bindings: { a: 'av', b: 'bv', c: 'c' },
    block: 8,
    overBatches: true,
    wgMultiple: 1,
    eligible: (s) =>
      (block8vec4Eligible(s) && wholeVec4s(makeFullLayout(s))) ||
      'the block8vec4 kernel needs m % 4 == 0 when transA, n % 4 == 0 unless transB, k % 4 == 0 unless transA, not both transposed, row strides and batch offsets of A and B that are multiples of 4, and A and B bound in whole vec4s',
    grid: tiles(8, true),
    vec4Store: {
      entryPoint: 'main_v8c',
      c: 'cv',
      when: (s, split) => {
        const f = makeFullLayout(s);
        return f.n % 4 === 0 && f.ldc % 4 === 0 && f.batchC % 4 === 0 && (split || f.bytesC % 16 === 0);
      },
    },
  },
  vec4: {
    name: 'vec4',
    reluEpilogue: true,
    module: 'matmul',
    sources: mainSources,
    entryPoint: 'main_vec4',
    bindings: { a: 'av', b: 'bv', c: 'c' },
    block: 4,
    overBatches: false,
    wgMultiple: 1,
    eligible: (s) => {
      const f = makeFullLayout(s);
      const dense = f.lda === (f.transA ? f.m : f.k) && f.ldb === (f.transB ? f.k : f.n) && f.ldc === f.n;
      return (
        (vec4Eligible(f.m, f.n, f.k, f.transA, f.transB) && f.batches === 1 && dense) ||
        'the vec4 kernel needs dense unbatched operands, m % 4 == 0 when transA, n % 4 == 0 unless transB, and k % 4 == 0 unless transA without transB'
      );
    },
    grid: tiles(4, false),
  },
  block8: {
    name: 'block8',
    reluEpilogue: true,
    module: 'matmul',
    sources: mainSources,
    entryPoint: 'main',
    bindings: { a: 'a', b: 'b', c: 'c' },
    block: 8,
    overBatches: false,
    wgMultiple: 1,
    eligible: () => true,
    grid: tiles(8, false),
  },
  ...tiledRows([matmulCommonWgsl]),
};

/** The split-K reduce pass (in shaders/matmul.wgsl): module and sources. */
export const matmulReduce = { module: 'matmul', sources: mainSources, entryPoint: 'reduce' } as const;

/**
 * The order auto plans try the variants in, per adapter class: CPU adapters (loads set the pace) block8sg, block8vec4,
 * block8; GPUs the tiled kernels where a product is large (their `worthIt`; awaiting GPU figures, docs/benchmarks.md),
 * then vec4 (dense, unbatched), block8vec4 (aligned batched or strided products: a population's layers; its grid packs
 * every batch's blocks into full workgroups, where block8 gives each batch a workgroup of its own with 49 of 64 lanes
 * busy on a 50x52 block), block8.
 *   matmulVariantOrder(true);  // ['block8sg', 'block8vec4', 'block8']
 *   matmulVariantOrder(false); // ['tile128k16', 'tile128', 'tile64', 'vec4', 'block8vec4', 'block8'] (tile128k16 where 32 KB is granted)
 */
export function matmulVariantOrder(cpu: boolean): readonly MatmulVariant[] {
  return cpu ? ['block8sg', 'block8vec4', 'block8'] : ['tile128k16', 'tile128', 'tile64', 'vec4', 'block8vec4', 'block8'];
}
