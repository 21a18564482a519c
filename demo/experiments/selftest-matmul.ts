// The self-test's matmul cases: each variant eligible on this adapter at ragged shapes, and the plans the GPU classes pick.
import {
  createMatmul,
  createScope,
  isCpuAdapter,
  matmulVariants,
  planMatmul,
  readF32,
  runDispatches,
  subgroupQuads,
  type AdapterSummary,
  type GpuContext,
  type MatmulBatch,
  type MatmulShape,
  type MatmulLayout,
  type MatmulVariant,
} from '../../src/engine.ts';
import { scaledError } from './error-measures.ts';
import type { SelfTestCase } from './selftest.ts';

// e2e/kernels/matmul.spec.ts and gpu-plans.spec.ts: max|gpu - ref| / max|ref| < 1e-4 (inputs in [-1, 1)).
const tol = 1e-4;

/** A product as affine.ts and batched-affine.ts launch it, with a forced plan (variant, workgroup size, splits). */
interface Product extends MatmulShape {
  bias?: boolean;
  batch?: MatmulBatch;
}

/** A GPU of the class that picks vec4 (NVIDIA): its plans are forced here on whatever adapter runs. */
const gpuClass: AdapterSummary = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100', runtime: 'node' };

const shapeOf = (p: Product) =>
  `${p.batch ? `${p.batch.count}x ` : ''}${p.m}x${p.n}x${p.k}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}${p.bias ? ' +b' : ''}`;

function layoutOf(p: Product): MatmulLayout {
  const b = p.batch ?? { count: 1, a: 0, b: 0, c: 0 };
  return { ...p, batches: b.count, batchA: b.a, batchB: b.b, batchC: b.c };
}

/** Run `p` with the forced plan on the GPU and compare with a float64 product over the elements C's layout owns. */
async function runProduct(gpu: GpuContext, p: Product, plan: { variant: MatmulVariant; wg?: number; splits?: number }, seed: number) {
  const { m, n, k, transA = false, transB = false } = p;
  const batch = p.batch ?? { count: 1, a: 0, b: 0, c: 0, bias: 0 };
  const [ar, ac] = transA ? [k, m] : [m, k];
  const [br, bc] = transB ? [n, k] : [k, n];
  const [lda, ldb, ldc] = [p.lda ?? ac, p.ldb ?? bc, p.ldc ?? n];
  const extent = (step: number, rows: number, ld: number, cols: number) => (batch.count - 1) * step + (rows - 1) * ld + cols;
  let s = seed >>> 0;
  const random = (len: number) =>
    Float32Array.from({ length: len }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 31 - 1;
    });
  const a = random(extent(batch.a, ar, lda, ac));
  const b = random(extent(batch.b, br, ldb, bc));
  const bias = p.bias ? random(extent(batch.bias ?? 0, 1, 0, n)) : undefined;
  const scope = createScope(gpu);
  try {
    const c = scope.createTensorBuffer(new Float32Array(extent(batch.c, m, ldc, n)).fill(NaN), 'c');
    const ds = await createMatmul(scope, {
      a: scope.createTensorBuffer(a, 'a'),
      b: scope.createTensorBuffer(b, 'b'),
      c,
      bias: bias ? scope.createTensorBuffer(bias, 'bias') : undefined,
      ...{ m, n, k, transA, transB, lda, ldb, ldc, batch },
      variant: plan.variant,
      workgroupSize: plan.wg,
      splits: plan.splits,
    });
    await runDispatches(gpu, ds, `selftest matmul ${plan.variant}`);
    const out = await readF32(gpu, c, extent(batch.c, m, ldc, n));
    const got: number[] = [];
    const want: number[] = [];
    for (let t = 0; t < batch.count; t++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = bias ? bias[t * (batch.bias ?? 0) + j]! : 0;
          const [oa, ob] = [t * batch.a, t * batch.b];
          for (let q = 0; q < k; q++)
            sum += (transA ? a[oa + q * lda + i]! : a[oa + i * lda + q]!) * (transB ? b[ob + j * ldb + q]! : b[ob + q * ldb + j]!);
          got.push(out[t * batch.c + i * ldc + j]!);
          want.push(sum);
        }
    const label = ds[0]!.label;
    // the forced plan must be what ran: its kernel in the dispatch's label, a reduce pass behind split K
    if (!label.includes(` ${plan.variant} `)) throw new Error(`asked for ${plan.variant}, ran "${label}"`);
    return [{ what: `C (${ds.length} pass${ds.length > 1 ? 'es' : ''})`, error: scaledError(got, want), tolerance: tol }];
  } finally {
    scope.destroy();
  }
}

// Ragged shapes (primes, non-multiples of 4 and of the 4/8 tiles) for each variant, in the layouts the ops use.
const M = 3; // models of a small population: column blocks of 52 in rows of 3·52
const perVariant: Record<MatmulVariant, Product[]> = {
  block8: [
    { m: 37, n: 53, k: 131, bias: true },
    { m: 29, n: 13, k: 67, transA: true, transB: true },
  ],
  vec4: [
    { m: 37, n: 52, k: 132, bias: true },
    { m: 52, n: 20, k: 37, transA: true },
  ],
  block8vec4: [
    { m: 37, n: 52, k: 132, bias: true },
    {
      ...{ m: 37, n: 52, k: 52, bias: true, lda: M * 52, ldc: M * 52 },
      batch: { count: M, a: 52, b: 52 * 52, c: 52, bias: 52 },
    },
    { ...{ m: 52, n: 52, k: 37, transA: true, lda: M * 52, ldb: M * 52 }, batch: { count: M, a: 52, b: 52, c: 52 * 52 } },
  ],
  block8sg: [
    { m: 37, n: 52, k: 132, bias: true },
    { ...{ m: 37, n: 52, k: 308, bias: true, lda: 308, ldc: M * 52 }, batch: { count: M, a: 0, b: 308 * 52, c: 52, bias: 52 } },
  ],
  // the tiled kernels in the layout the register kernels read worst (A·Bᵀ, every dx = dout·Wᵀ), one pipeline each (a
  // CPU adapter takes up to 30 s to compile one): ragged edges past a tile and a K tail, then a population's batched dx
  ...Object.fromEntries(
    (['tile128', 'tile64', 'tile128k16'] as const).map((v) => [
      v,
      [
        { m: 131, n: 67, k: 37, transB: true, bias: true },
        {
          ...{ m: 37, n: 29, k: 53, transB: true, bias: true, lda: M * 53, ldc: M * 29 },
          batch: { count: M, a: 53, b: 29 * 53, c: 29, bias: 29 },
        },
      ],
    ]),
  ),
} as Record<MatmulVariant, Product[]>;

/**
 * The matmul cases: every variant eligible on this adapter at its ragged shapes, and the GPU class's plans forced here
 * (vec4 at 64 invocations with K splits, block8 with splits over batches, a grid with y > 1).
 *   const { cases, skipped } = await makeMatmulCases(gpu);
 *   cases.map((c) => c.variant); // ['block8', 'block8', 'vec4', ...]
 */
export async function makeMatmulCases(gpu: GpuContext): Promise<{ cases: SelfTestCase[]; skipped: string[] }> {
  const caps = {
    cpu: isCpuAdapter(gpu.adapter),
    subgroupQuads: await subgroupQuads(gpu),
    workgroupStorage: gpu.device.limits.maxComputeWorkgroupStorageSize,
  };
  const cases: SelfTestCase[] = [];
  const skipped: string[] = [];
  let seed = 1;
  for (const [variant, products] of Object.entries(perVariant) as [MatmulVariant, Product[]][]) {
    for (const p of products) {
      const ok = matmulVariants[variant].eligible(layoutOf(p), caps);
      if (ok !== true) {
        skipped.push(`matmul ${variant} ${shapeOf(p)}: ${ok}`);
        continue;
      }
      const s = seed++;
      cases.push({ kernel: 'matmul', variant, shape: shapeOf(p), run: (g) => runProduct(g, p, { variant }, s) });
    }
  }
  // The GPU class's plans (e2e/kernels/gpu-plans.spec.ts) at ragged shapes, forced on this adapter.
  const planned: [string, Product, number?][] = [
    ['K splits', { m: 37, n: 100, k: 1028, bias: true }],
    [
      'splits over batches',
      { ...{ m: 37, n: 53, k: 1031, bias: true, lda: 1031, ldc: 5 * 53 }, batch: { count: 5, a: 0, b: 1031 * 53, c: 53, bias: 53 } },
    ],
    ['grid y > 1', { m: 4, n: 4 * 65537, k: 4 }, 1],
  ];
  for (const [what, p, wg] of planned) {
    const plan = planMatmul(gpuClass, { ...layoutOf(p), workgroupSize: wg });
    const variant = `${plan.variant} wg=${plan.wg} splits=${plan.splits} ${plan.workgroups.join('x')} (GPU plan: ${what})`;
    const s = seed++;
    cases.push({ kernel: 'matmul', variant, shape: shapeOf(p), run: (g) => runProduct(g, p, plan, s) });
  }
  return { cases, skipped };
}
