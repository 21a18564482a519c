// Benchmark section: matmul GFLOPS at the training shapes and 256³, 512³, ours (auto plan) beside a peer (TF.js) when given;
// with --detail every variant the device can run, forced (at large sizes from 4096³ on, where the tiled kernels compete).
import {
  createScope,
  readF32,
  encodeDispatches,
  timeComputePasses,
  type TimerKind,
  createMatmul,
  planMatmul,
  matmulVariants,
  isCpuAdapter,
  type MatmulVariant,
} from '../../src/engine.ts';
import type { GpuContext } from '../../src/index.ts';
import { makeRandom, type BenchSection } from './types.ts';

export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  what: string;
}

/** The training net's first layer (CIFAR-10 3072 -> 100, batch 50) forward and its two backward products, then squares. */
export const matmulShapes: MatmulShape[] = [
  { m: 50, n: 100, k: 3072, transA: false, transB: false, what: 'forward x·W (50x3072 · 3072x100)' },
  { m: 50, n: 3072, k: 100, transA: false, transB: true, what: 'backward dx = dout·Wᵀ (50x100 · (3072x100)ᵀ)' },
  { m: 3072, n: 100, k: 50, transA: true, transB: false, what: 'backward dW = xᵀ·dout ((50x3072)ᵀ · 50x100)' },
  { m: 256, n: 256, k: 256, transA: false, transB: false, what: '256³' },
  { m: 512, n: 512, k: 512, transA: false, transB: false, what: '512³' },
];

/** `--sizes large`: squares 1024³ to 8192³, each in the three layouts. */
export const largeMatmulShapes: MatmulShape[] = [1024, 2048, 4096, 8192].flatMap((s) =>
  (
    [
      [false, false, 'A·B'],
      [true, false, 'Aᵀ·B'],
      [false, true, 'A·Bᵀ'],
    ] as const
  ).map(([transA, transB, l]) => ({ m: s, n: s, k: s, transA, transB, what: `${s}³ ${l}` })),
);

export interface MatmulFigure {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  what: string;
  /** Kernel and split-K the auto plan chose. */
  kernel: string;
  /** Median over the repetitions, and GFLOPS from it. */
  ms: number;
  gflops: number;
  /** From the fastest repetition (on a shared CPU, the least disturbed one). */
  bestGflops: number;
  tfjsMs: number | null;
  tfjsGflops: number | null;
  tfjsBestGflops: number | null;
  /** max |gpu - f64| / max |f64| over 64 sampled entries: the figure is of a correct product. */
  check: number;
  /** With --detail: GFLOPS of the alternatives, by name (`tile128 auto-split`, `vec4 no split`, ...). */
  alternatives?: Record<string, number>;
  /** With --detail: the variants this device cannot run at this shape, with the row's reason. */
  notRun?: Record<string, string>;
}

const gflops = (s: { m: number; n: number; k: number }, ms: number) => (2 * s.m * s.n * s.k) / (ms * 1e6);

async function timeOne(
  gpu: GpuContext,
  s: MatmulShape,
  bufs: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer },
  reps: number,
  variant?: MatmulVariant,
  splits?: number,
): Promise<{ ms: number; minMs: number; kind: TimerKind; label: string }> {
  const scope = createScope(gpu);
  try {
    const list = await createMatmul(scope, { ...bufs, m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB, variant, splits });
    const t = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, list), { reps, warmup: 2 });
    return { ms: t.medianMs, minMs: t.minMs, kind: t.kind, label: list.map((d) => d.label).join(' + ') };
  } finally {
    scope.destroy();
  }
}

function sampledError(s: MatmulShape, a: Float32Array, b: Float32Array, c: Float32Array): number {
  let maxErr = 0;
  let maxRef = 0;
  for (let t = 0; t < 64; t++) {
    const i = Math.floor((((t * 7919) % 997) / 997) * s.m);
    const j = Math.floor((((t * 104729) % 991) / 991) * s.n);
    let ref = 0;
    for (let p = 0; p < s.k; p++) ref += (s.transA ? a[p * s.m + i]! : a[i * s.k + p]!) * (s.transB ? b[j * s.k + p]! : b[p * s.n + j]!);
    maxRef = Math.max(maxRef, Math.abs(ref));
    maxErr = Math.max(maxErr, Number.isNaN(c[i * s.n + j]!) ? Infinity : Math.abs(c[i * s.n + j]! - ref));
  }
  return maxErr / Math.max(maxRef, 1e-30);
}

/** The variants --detail forces at large sizes (block8, the any-shape fallback, would take seconds a product there). */
const largeVariants: MatmulVariant[] = ['tile128k16', 'tile128', 'tile64', 'vec4'];

/**
 * Time every variant this device can run at `s`, forced: each with the auto plan's K splits and with none (and with 4
 * where the auto plan does not split); large products (from 4096³) only the tiled kernels and vec4, with the auto splits.
 *   const { alternatives, notRun } = await timeVariants(gpu, { m: 4096, n: 4096, k: 4096, ... }, bufs, 5);
 *   alternatives['tile128 auto-split']; // GFLOPS
 */
async function timeVariants(
  gpu: GpuContext,
  s: MatmulShape,
  bufs: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer },
  reps: number,
): Promise<{ alternatives: Record<string, number>; notRun: Record<string, string> }> {
  const alternatives: Record<string, number> = {};
  const notRun: Record<string, string> = {};
  const large = s.m * s.n * s.k >= 2 ** 36;
  const caps = { cpu: isCpuAdapter(gpu.adapter), subgroupQuads: false, workgroupStorage: gpu.device.limits.maxComputeWorkgroupStorageSize };
  const names = large ? largeVariants : (Object.keys(matmulVariants) as MatmulVariant[]).filter((v) => v !== 'block8sg');
  for (const v of names) {
    const ok = matmulVariants[v].eligible(s, caps);
    if (ok !== true) {
      notRun[v] = ok;
      continue;
    }
    const plan = planMatmul(gpu.adapter, { ...s, variant: v, workgroupStorage: caps.workgroupStorage });
    alternatives[`${v} auto-split`] = gflops(s, (await timeOne(gpu, s, bufs, reps, v)).ms);
    if (large) continue;
    alternatives[`${v} no split`] = gflops(s, (await timeOne(gpu, s, bufs, reps, v, 1)).ms);
    if (plan.splits === 1) alternatives[`${v} splitK=4`] = gflops(s, (await timeOne(gpu, s, bufs, reps, v, 4)).ms);
  }
  return { alternatives, notRun };
}

/**
 * Time every shape of `matmulShapes` (ours with the auto plan; TF.js when the page gives it as a peer).
 *   const { matmul } = await matmulSection.run(gpu, { reps: 10, detail: false, peers: {}, log: console.log });
 *   matmul[0].gflops;
 */
export const matmulSection: BenchSection = {
  name: 'matmul',
  async run(gpu, opts) {
    const out: MatmulFigure[] = [];
    let timer: TimerKind = gpu.hasTimestampQuery ? 'timestamp-query' : 'wall-clock';
    for (const s of opts.sizes === 'large' ? [...matmulShapes, ...largeMatmulShapes] : matmulShapes) {
      const scope = createScope(gpu);
      try {
        const a = makeRandom(s.m * s.k, 1 + s.m);
        const b = makeRandom(s.k * s.n, 2 + s.n);
        const bufs = {
          a: scope.createTensorBuffer(a, 'bench a'),
          b: scope.createTensorBuffer(b, 'bench b'),
          c: scope.createTensorBuffer(s.m * s.n * 4, 'bench c'),
        };
        const ours = await timeOne(gpu, s, bufs, opts.reps);
        timer = ours.kind;
        const check = sampledError(s, a, b, await readF32(gpu, bufs.c, s.m * s.n));
        const fig: MatmulFigure = {
          m: s.m,
          n: s.n,
          k: s.k,
          transA: s.transA,
          transB: s.transB,
          what: s.what,
          kernel: ours.label,
          ms: ours.ms,
          gflops: gflops(s, ours.ms),
          bestGflops: gflops(s, ours.minMs),
          tfjsMs: null,
          tfjsGflops: null,
          tfjsBestGflops: null,
          check,
        };
        if (opts.detail && (opts.sizes !== 'large' || s.m >= 4096)) Object.assign(fig, await timeVariants(gpu, s, bufs, opts.reps));
        const peer = opts.peers.tfjsMatmul;
        if (peer) {
          const t = await peer.time(s, opts.reps);
          fig.tfjsMs = t.medianMs;
          fig.tfjsGflops = gflops(s, t.medianMs);
          fig.tfjsBestGflops = gflops(s, t.minMs);
        }
        opts.log(
          `matmul ${s.m}x${s.n}x${s.k} ${s.what}: ${fig.gflops.toFixed(2)} GFLOPS (${fig.ms.toFixed(2)} ms, ${fig.kernel})` +
            (fig.tfjsGflops !== null ? `; ${peer!.name} ${fig.tfjsGflops.toFixed(2)} GFLOPS` : '') +
            (fig.alternatives
              ? `; forced: ${Object.entries(fig.alternatives)
                  .map(([v, g]) => `${v} ${g.toFixed(2)}`)
                  .join(', ')}`
              : ''),
        );
        out.push(fig);
      } finally {
        scope.destroy();
      }
    }
    return { matmul: out, matmulTimer: timer, tfjsTimer: opts.peers.tfjsMatmul?.timer ?? null };
  },
};
