// Batch normalization forward on the GPU, device-resident: train mode (batch statistics, running averages) and test mode.
import forwardModule from '../../shaders/batchnorm-forward.wgsl?raw';
import columnsWgsl from '../../shaders/lib/columns.wgsl?raw';
import treeSumWgsl from '../../shaders/lib/tree-sum.wgsl?raw';
import { getKernel, linkWgsl } from '../gpu/kernel.ts';
import { createDispatch, gridFor, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertBuffers, assertCount } from './op-checks.ts';
import { columnGrid, planColumnTiling, tileConstants, wgColumns, wgElementwise } from './norm-columns.ts';

/** batchnorm-forward.wgsl with the shared column helpers and the tree sum linked in front. */
const forwardWgsl = linkWgsl(columnsWgsl, treeSumWgsl, forwardModule);

/** Where train-mode forward leaves what backward needs: mean and invStd [d], xhat [n, d]. */
export interface BatchNormSaved {
  mean: TensorRef;
  invStd: TensorRef;
  xhat: TensorRef;
}

export interface BatchNormForwardArgs {
  x: TensorRef;
  gamma: TensorRef;
  beta: TensorRef;
  out: TensorRef;
  runningMean: TensorRef;
  runningVar: TensorRef;
  n: number;
  d: number;
  mode: 'train' | 'test';
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Weight of the old running value; default 0.9. */
  momentum?: number;
  saved?: BatchNormSaved;
  /** Fuse a ReLU behind: out = max(0, gamma * xhat + beta). */
  relu?: boolean;
  /** Tuning knob (tests, the self-test): rows each test-mode invocation takes; default 64 on CPU adapters, 8 on GPUs. */
  rowsPerLane?: number;
  /** Train mode, a batch of several chunks: rows a chunk of the statistics keeps at least (`planColumnTiling`: 256 on CPU adapters, 64 on GPUs). */
  minChunkRows?: number;
}

/**
 * Record batchnorm forward for x [n, d]. Train: batch mean and biased variance per feature (two-pass; in
 * row chunks + Chan merge for big batches), out = gamma * xhat + beta, running statistics moved by
 * momentum, and `saved` (mean, invStd, xhat) written when given; one dispatch when the batch is one chunk
 * (n < 512). Test: normalizes with the running statistics.
 *   const fwd = await createBatchNormForward(scope, { x, gamma, beta, out, runningMean, runningVar, n: 50, d: 100, mode: 'train', saved });
 *   await runDispatches(gpu, fwd);
 */
export async function createBatchNormForward(scope: GpuScope, a: BatchNormForwardArgs): Promise<Dispatch[]> {
  const { n, d } = a;
  const op = `batchnorm.forward(${a.mode}${a.relu ? '+relu' : ''}) n=${n} d=${d}`;
  assertCount(op, 'n', n);
  assertCount(op, 'd', d);
  if (a.mode !== 'train' && a.mode !== 'test') throw new Error(`${op}: mode must be "train" or "test", got ${JSON.stringify(a.mode)}`);
  assertBuffers(op, { x: a.x, out: a.out }, n * d);
  assertBuffers(op, { gamma: a.gamma, beta: a.beta, runningMean: a.runningMean, runningVar: a.runningVar }, d);
  const eps = a.eps ?? 1e-5;
  const momentum = a.momentum ?? 0.9;
  const elementwise = gridFor(n * d, wgElementwise);
  // what both one-pass kernels (test mode, and train mode in one chunk) read and write
  const layer = { x: a.x, gamma: a.gamma, beta: a.beta, out: a.out, runningMean: a.runningMean, runningVar: a.runningVar };

  if (a.mode === 'test') {
    // an invocation: 4 columns x `rows` rows (fewer rows on a GPU: more invocations)
    const perLane = a.rowsPerLane ?? (isCpuAdapter(scope.ctx.adapter) ? 64 : 8);
    assertCount(op, 'rowsPerLane', perLane);
    const rows = Math.max(perLane, Math.ceil(n / maxWorkgroupsPerDim));
    const kernel = await getKernel(scope.ctx, {
      name: 'batchnorm-forward',
      source: forwardWgsl,
      entryPoint: 'normalizeTest',
      constants: { WG: wgColumns, RELU: a.relu ? 1 : 0 },
    });
    const params = scope.createUniformBuffer(kernel, 'params', { n, d, chunkRows: rows, chunks: 1, eps, momentum }, `${op} params`);
    const [gx] = columnGrid(d);
    return [createDispatch(scope, kernel, { ...layer, params }, [gx, Math.ceil(n / rows), 1], `${op} normalizeTest`)];
  }

  const t = planColumnTiling(scope.ctx.adapter, n, d, a.minChunkRows);
  const fused = t.chunks === 1;
  const save = a.saved !== undefined;
  if (a.saved) {
    assertBuffer(op, 'saved.mean', a.saved.mean, d);
    assertBuffer(op, 'saved.invStd', a.saved.invStd, d);
    assertBuffer(op, 'saved.xhat', a.saved.xhat, n * d);
  }
  const mean = a.saved?.mean ?? scope.createTensorBuffer(d * 4, `${op} mean`);
  const invStd = a.saved?.invStd ?? scope.createTensorBuffer(d * 4, `${op} invStd`);
  const xhat = a.saved?.xhat ?? scope.createTensorBuffer(4, `${op} xhat (unused)`);
  if (fused) {
    // One chunk: one dispatch, each invocation owning 4 columns over every row.
    const kernel = await getKernel(scope.ctx, {
      name: 'batchnorm-forward',
      source: forwardWgsl,
      entryPoint: 'trainColumns',
      constants: { WG: wgColumns, SAVE: save ? 1 : 0, RELU: a.relu ? 1 : 0 },
    });
    const params = scope.createUniformBuffer(kernel, 'params', { n, d, chunkRows: n, chunks: 1, eps, momentum }, `${op} params`);
    return [createDispatch(scope, kernel, { ...layer, mean, invStd, xhat, params }, columnGrid(d), `${op} columns`)];
  }
  // Several chunks: partial statistics per chunk, merged, then normalize elementwise.
  const [stats, merge, normalize] = await Promise.all([
    getKernel(scope.ctx, { name: 'batchnorm-forward', source: forwardWgsl, entryPoint: 'stats', constants: tileConstants(t) }),
    getKernel(scope.ctx, { name: 'batchnorm-forward', source: forwardWgsl, entryPoint: 'merge' }),
    getKernel(scope.ctx, {
      name: 'batchnorm-forward',
      source: forwardWgsl,
      entryPoint: 'normalize',
      constants: { WG: wgElementwise, SAVE: save ? 1 : 0, RELU: a.relu ? 1 : 0 },
    }),
  ]);
  const params = scope.createUniformBuffer(
    stats,
    'params',
    { n, d, chunkRows: t.chunkRows, chunks: t.chunks, eps, momentum },
    `${op} params`,
  );
  const partMean = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial means`);
  const partM2 = scope.createTensorBuffer(t.chunks * d * 4, `${op} partial M2`);
  return [
    createDispatch(
      scope,
      stats,
      { x: a.x, partMean, partM2, params },
      [t.colTiles, t.chunks, 1],
      `${op} stats (${t.chunks} chunks of ${t.chunkRows} rows)`,
    ),
    createDispatch(
      scope,
      merge,
      { runningMean: a.runningMean, runningVar: a.runningVar, mean, invStd, partMean, partM2, params },
      gridFor(d, 64),
      `${op} merge`,
    ),
    createDispatch(
      scope,
      normalize,
      { x: a.x, gamma: a.gamma, beta: a.beta, out: a.out, mean, invStd, xhat, params },
      elementwise,
      `${op} normalize`,
    ),
  ];
}
