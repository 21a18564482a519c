// The shapes and thresholds the batchnorm kernel specs (batchnorm.spec.ts: forward, test mode, host forms;
// batchnorm-backward.spec.ts: both backwards) share.
//
// Thresholds, with the seed's relError for the per-feature statistics (mean, invStd, running stats:
// far from 0) and, for everything that can cancel to ~0, the error relative to the magnitude of the
// operands that were rounded (|diff| / mag elementwise, mag >= |ref|): with N = 2, for instance, the
// true dx is ~eps/var times its terms (xhat = +-1 whatever x is), so f32 can only promise accuracy
// relative to those terms, not to dx itself. Magnitudes, per element:
//   xhat:  |xhat| + |x| invStd            out: |gamma| (|xhat| + |x| invStd) + |beta|
//   dx:    |gamma| invStd / N (N |dout| + sum_i |dout| + m(xhat) sum_i |dout| m(xhat))
//   dbeta: sum_i |dout|                   dgamma: sum_i |dout| m(xhat)
// where m(xhat) = |xhat| + |x| invStd is xhat's own magnitude (the backward reads the GPU forward's xhat).
// Normalisation given the statistics is elementwise (< 1e-5); statistics and gradients are
// reductions (< 1e-4).
export const elementwiseTol = 1e-5;
export const reductionTol = 1e-4;

const ns = [1, 2, 3, 7, 50, 257];
const ds = [1, 3, 64, 101, 500];
/** Batches large enough to be cut into row chunks (partial statistics + merge / combine passes). */
export const chunked: [number, number][] = [
  [1031, 37],
  [600, 3],
];
export const cases: [number, number][] = [...ns.flatMap((n) => ds.map((d): [number, number] => [n, d])), ...chunked];
/** Rows a chunk of a column reduction keeps at least on GPUs (`gpuMinChunkRows`), forced here on any adapter. */
export const gpuChunkRows = 64;
