// The bytes each batchnorm backward pass must move: a table per entry point of shaders/batchnorm-backward.wgsl and the
// files linked behind it (batchnorm-backward-graph.wgsl, batchnorm-graph-columns.wgsl, batchnorm-backward-alternative.wgsl).
import type { Dispatch } from '../gpu/dispatch.ts';
import { columnTiling } from './op-checks.ts';

/** What a backward pass's bytes depend on: the shape, the chunks of its reductions, and its override constants. */
export interface BackwardTrafficShape {
  n: number;
  d: number;
  /** Row chunks of the column reductions (partial sums are chunks * d); 1 for the `*Columns` kernels. */
  chunks: number;
  /** RELU: every read of dout also reads the fused ReLU's output (n * d). */
  relu: boolean;
  /** USE_X: xmu comes from x and mean; else from xhat (bound as x) and invStd. */
  useX: boolean;
  /** combine's PAIR: it adds up two partial-sum arrays (A and B), else one. */
  pair: boolean;
}

/**
 * The rule, in f32 elements (4 bytes each), with N = n * d and C = chunks * d: each bound array the entry point reads
 * counts once, each it writes counts once; re-reads inside a kernel (alternativeColumns reads dout and xhat twice)
 * and uniforms do not count, so bytes / time is the pass's effective bandwidth against the copy roof.
 *   sumsColumns        reads dout, xhat (+reluOut)                 writes dbeta, dgamma [d]
 *   sumDoutXhat        reads dout, xhat (+reluOut)                 writes 2 partial sums [C]
 *   combine            reads 1 or 2 partial sums [C] (PAIR)        writes 1 or 2 [d]
 *   dxhat*             reads dout (+reluOut), gamma [d]            writes dxhat
 *   dvar*              reads dxhat, x, mean or invStd [d]          writes divar [d] (Columns) or partials [C] (Node)
 *   dmu*               reads dxhat, x, invStd, divar (+mean) [d]   writes dx1, and sum dx1 [d] or partials [C]
 *   dx*                reads dx1, sum dx1 [d]                      writes dx
 *   dxAlternative      reads dout (+reluOut), xhat, gamma, invStd, dbeta, dgamma [d]   writes dx
 *   alternativeColumns reads dout (+reluOut), xhat, gamma, invStd [d]   writes dx, dbeta, dgamma [d]
 *   fusedColumns       as alternativeColumns (the fused layout: dout and xhat read once, kept in registers)
 *   dxTiles            as dxAlternative (the split layout's dx)
 *   graphColumns       reads dout (+reluOut), xhat, gamma, invStd [d]   writes dbeta, dgamma [d], the graph's
 *                      intermediates (dxhat, dx1 [N]; divar, sum dx1 [d]) and dx: every node of the graph in one pass
 *   makeBackwardPassBytes('dxColumns', { n: 4, d: 3, chunks: 1, relu: false, useX: true, pair: false }); // 4 * (12 + 3 + 12) = 108
 *   makeBackwardPassBytes('alternativeColumns', { n: 4, d: 3, chunks: 1, relu: false, useX: true, pair: false }); // 192
 */
export function makeBackwardPassBytes(entryPoint: string, s: BackwardTrafficShape): number {
  const N = s.n * s.d;
  const C = s.chunks * s.d;
  const d = s.d;
  const g = (s.relu ? 2 : 1) * N; // dout, and the ReLU mask with it
  const elements: Record<string, () => number> = {
    sumsColumns: () => g + N + 2 * d,
    sumDoutXhat: () => g + N + 2 * C,
    combine: () => (s.pair ? 2 : 1) * (C + d),
    dxhatColumns: () => g + d + N,
    dxhatNode: () => g + d + N,
    dvarColumns: () => 2 * N + d + d,
    dvarNode: () => 2 * N + d + C,
    dmuColumns: () => 2 * N + (s.useX ? 3 : 2) * d + N + d,
    dmuNode: () => 2 * N + (s.useX ? 3 : 2) * d + N + C,
    dxColumns: () => N + d + N,
    dxNode: () => N + d + N,
    dxAlternative: () => g + N + 4 * d + N,
    alternativeColumns: () => g + N + 2 * d + N + 2 * d,
    fusedColumns: () => g + N + 2 * d + N + 2 * d,
    dxTiles: () => g + N + 4 * d + N,
    graphColumns: () => g + N + 2 * d + 2 * d + (2 * N + 2 * d) + N,
  };
  const f = elements[entryPoint];
  if (!f)
    throw new Error(`batchnorm backward traffic: no byte rule for entry point "${entryPoint}" (has ${Object.keys(elements).join(', ')})`);
  return 4 * f();
}

/**
 * The bytes each dispatch of a `createBatchNormBackward` list for [n, d] must move (see makeBackwardPassBytes),
 * reading the entry point and its RELU / USE_X / PAIR constants from the dispatch's kernel.
 *   const bwd = await createBatchNormBackward(scope, { ...args, n: 4, d: 3, variant: 'graph' });
 *   batchNormBackwardBytes(bwd, 4, 3); // [120, 108, 120, 192, 108]
 */
export function batchNormBackwardBytes(list: readonly Dispatch[], n: number, d: number): number[] {
  let { chunks } = columnTiling(n, d);
  return list.map(({ kernel, workgroups }) => {
    // a column reduction's row chunks are its grid's y (the split layout picks its own); `combine` follows its reduction
    if (workgroups && ['sumDoutXhat', 'dvarNode', 'dmuNode'].includes(kernel.entryPoint)) chunks = workgroups[1];
    if (kernel.name !== 'batchnorm-backward')
      throw new Error(
        `batchnorm backward traffic: dispatch of kernel ${kernel.name}.${kernel.entryPoint} is not a batchnorm backward pass`,
      );
    const flag = (name: string, unset: boolean) => {
      const m = new RegExp(`(?:^|[:,])${name}=(\\d+)`).exec(kernel.key);
      return m ? m[1] !== '0' : unset;
    };
    const columns = kernel.entryPoint.endsWith('Columns');
    return makeBackwardPassBytes(kernel.entryPoint, {
      n,
      d,
      chunks: columns ? 1 : chunks,
      relu: flag('RELU', false),
      useX: flag('USE_X', true),
      pair: flag('PAIR', true),
    });
  });
}
