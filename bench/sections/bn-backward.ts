// Benchmark section: batchnorm backward, staged graph vs closed-form alternative, ms each, speedup and effective GB/s;
// with --detail the alternative in each layout forced (chunks, fused, split: src/ops/batchnorm-backward-shapes.ts).
import {
  createScope,
  encodeDispatches,
  timeComputePasses,
  createBatchNormBackward,
  planBnBackwardLayout,
  type BnBackwardLayout,
} from '../../src/engine.ts';
import { makeRandom, type BenchSection } from './types.ts';
import type { Dispatch } from '../../src/engine.ts';

/** The seed's size (N=100, D=500) and a large batch. */
export const bnShapes = [
  { n: 100, d: 500 },
  { n: 4096, d: 1024 },
];

/** `--sizes large`: the wide nets' layers ([1024]x5 at batch 1024, [4096]x3 at batch 4096), up to 65536x1024 and 1024x65536. */
export const largeBnShapes = [
  { n: 1024, d: 1024 },
  { n: 4096, d: 4096 },
  { n: 16384, d: 4096 },
  { n: 65536, d: 1024 },
  { n: 1024, d: 65536 },
];

export interface BnBackwardFigure {
  n: number;
  d: number;
  graphMs: number;
  altMs: number;
  /** graphMs / altMs. */
  speedup: number;
  /** Effective bandwidth: the unavoidable traffic (read dout and xhat, write dx: 12·n·d bytes) over the time. */
  graphGBps: number;
  altGBps: number;
  graphPasses: number;
  altPasses: number;
  /** The alternative's layout the auto plan took ('chunks' where it keeps the kernels of batchnorm-backward.ts). */
  altLayout: string;
  /** With --detail: GB/s (of 12·n·d bytes) of the alternative in each layout forced, by name. */
  layouts?: Record<string, number>;
}

/** The layouts --detail forces at n rows: the chunk kernels, fused at 8, 4, 2 and 1 columns a workgroup where the batch fits, split. */
function detailLayouts(n: number, d: number): Record<string, BnBackwardLayout | 'chunks'> {
  const out: Record<string, BnBackwardLayout | 'chunks'> = { chunks: 'chunks' };
  for (const cols of [8, 4, 2, 1]) if (n <= (256 / cols) * 32) out[`fused cols=${cols}`] = { kind: 'fused', cols };
  const tiles = Math.ceil(d / 32);
  const splits = Math.max(1, Math.min(Math.floor(n / 64), Math.ceil(4096 / tiles), 65535));
  out[`split ${splits}`] = { kind: 'split', splits };
  return out;
}

/**
 * Time batchnorm backward both ways (src/ops/batchnorm.ts) at `bnShapes`.
 *   const { bnBackward } = await bnBackwardSection.run(gpu, opts);
 *   bnBackward[0].speedup;
 */
export const bnBackwardSection: BenchSection = {
  name: 'bn',
  async run(gpu, opts) {
    const out: BnBackwardFigure[] = [];
    for (const { n, d } of opts.sizes === 'large' ? [...bnShapes, ...largeBnShapes] : bnShapes) {
      const scope = createScope(gpu);
      try {
        const t = (data: Float32Array, label: string) => scope.createTensorBuffer(data, label);
        const positive = (len: number, seed: number) => makeRandom(len, seed).map((v) => 0.5 + Math.abs(v));
        const common = {
          dout: t(makeRandom(n * d, 11), 'dout'),
          xhat: t(makeRandom(n * d, 12), 'xhat'),
          invStd: t(positive(d, 13), 'invStd'),
          gamma: t(positive(d, 14), 'gamma'),
          dx: scope.createTensorBuffer(n * d * 4, 'dx'),
          dgamma: scope.createTensorBuffer(d * 4, 'dgamma'),
          dbeta: scope.createTensorBuffer(d * 4, 'dbeta'),
          n,
          d,
        };
        // The graph variant reads the seed's cache (x and mean); the alternative needs only xhat and invStd.
        const graph = await createBatchNormBackward(scope, {
          ...common,
          variant: 'graph',
          x: t(makeRandom(n * d, 15), 'x'),
          mean: t(makeRandom(d, 16), 'mean'),
        });
        const alt = await createBatchNormBackward(scope, { ...common, variant: 'alternative' });
        const time = async (list: Dispatch[]) =>
          (await timeComputePasses(gpu, (pass) => encodeDispatches(pass, list), { reps: opts.reps, warmup: 2 })).medianMs;
        const graphMs = await time(graph);
        const altMs = await time(alt);
        const bytes = 12 * n * d;
        const auto = planBnBackwardLayout(gpu.adapter, n, d);
        const layouts: Record<string, number> = {};
        if (opts.detail) {
          for (const [name, layout] of Object.entries(detailLayouts(n, d))) {
            const list = await createBatchNormBackward(scope, { ...common, variant: 'alternative', layout });
            layouts[name] = (12 * n * d) / ((await time(list)) * 1e6);
          }
        }
        const fig: BnBackwardFigure = {
          n,
          d,
          graphMs,
          altMs,
          speedup: graphMs / altMs,
          graphGBps: bytes / (graphMs * 1e6),
          altGBps: bytes / (altMs * 1e6),
          graphPasses: graph.length,
          altPasses: alt.length,
          altLayout: auto === null ? 'chunks' : JSON.stringify(auto),
          ...(opts.detail ? { layouts } : {}),
        };
        opts.log(
          `batchnorm backward n=${n} d=${d}: graph ${graphMs.toFixed(3)} ms (${graph.length} passes), alternative ${altMs.toFixed(3)} ms (${alt.length}, ${fig.altLayout}), speedup ${fig.speedup.toFixed(2)}x` +
            (opts.detail
              ? `; forced GB/s: ${Object.entries(layouts)
                  .map(([k, v]) => `${k} ${v.toPrecision(3)}`)
                  .join(', ')}`
              : ''),
        );
        out.push(fig);
      } finally {
        scope.destroy();
      }
    }
    return { bnBackward: out };
  },
};
