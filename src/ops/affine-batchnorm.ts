// Affine + batchnorm (+ ReLU) as one op: the fused forward kernel where a batch's rows fit one workgroup, the matmul and
// batchnorm kernels behind each other where not, and the graph op whose backward is batchnorm's then affine's.
import fusedModule from '../../shaders/affine-batchnorm.wgsl?raw';
import columnsWgsl from '../../shaders/lib/columns.wgsl?raw';
import treeSumWgsl from '../../shaders/lib/tree-sum.wgsl?raw';
import { getKernel, linkWgsl } from '../gpu/kernel.ts';
import { createDispatch, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import { isCpuAdapter } from '../gpu/probes.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import { expectShape, needsGrad, sizeOf, type OpDef } from '../graph/graph.ts';
import { createMatmul, createMatmulPartials } from './matmul.ts';
import { createBatchNormForward, type BatchNormForwardArgs, type BatchNormSaved } from './batchnorm-forward.ts';
import { batchNormGradOp, type BatchNormAttrs } from './batchnorm.ts';
import { affineGradOp } from './affine.ts';
import { assertBuffer, assertBuffers, assertCount, columnTiling } from './op-checks.ts';

const fusedWgsl = linkWgsl(columnsWgsl, treeSumWgsl, fusedModule);

/** Storage buffers the fused kernel binds: `fromProduct` 10, `fromPartials` 9. */
const bindingsOf = { product: 10, partials: 9 } as const;

/** How the fused forward runs: off (matmul, then batchnorm), or on with pre = x·W + b made in the kernel or summed from split-K partials. */
export type AffineBatchNormFusion = 'off' | 'product' | 'partials';

/** Batchnorm's forward arguments (x now the affine's input) plus the affine's W and b; the saved mean is not kept. */
export interface AffineBatchNormForwardArgs extends Omit<BatchNormForwardArgs, 'saved' | 'rowsPerLane'> {
  w: TensorRef;
  b: TensorRef;
  /** Inputs: x is [n, k], W [k, d]. */
  k: number;
  /** Train mode: where invStd [d] and xhat [n, d] go for the backward (batchnorm's saved values less the mean). */
  saved?: Omit<BatchNormSaved, 'mean'>;
  /** Force the plan (`planAffineBatchNorm` by default); a fused form the device cannot bind throws. */
  fusion?: AffineBatchNormFusion;
  /** Lanes of the fused kernel's workgroups, a power of two <= 256 (default 4 on CPU adapters, 64 on GPUs). */
  workgroupSize?: number;
}

/**
 * The plan of an affine + batchnorm layer: fused where the batch is one column chunk (n < 512 rows: every row fits one
 * workgroup's lanes) and the device binds the kernel's storage buffers; then the product is made in the kernel for
 * k <= 256 (a 4x4 block per lane is enough there), else by the split-K matmul whose partials the kernel sums.
 *   planAffineBatchNorm(50, 3072, 100, 12); // 'partials'
 *   planAffineBatchNorm(50, 100, 100, 12);  // 'product'
 */
export function planAffineBatchNorm(n: number, k: number, d: number, maxStorageBuffers: number): AffineBatchNormFusion {
  if (columnTiling(n, d).chunks > 1 || Math.ceil(d / 4) > maxWorkgroupsPerDim) return 'off';
  const form = k <= 256 ? 'product' : 'partials';
  return maxStorageBuffers >= bindingsOf[form] ? form : 'off';
}

/**
 * Record pre = x·W + b, then batchnorm (train or test) with an optional ReLU: one dispatch for a small k, two for a
 * big one (the matmul's partials, then the fused kernel), or the matmul and batchnorm kernels unfused.
 *   const fwd = await createAffineBatchNormForward(scope, { x, w, b, gamma, beta, out, runningMean, runningVar, n: 50, k: 100, d: 100, mode: 'train', saved, relu: true });
 *   await runDispatches(gpu, fwd);
 */
export async function createAffineBatchNormForward(scope: GpuScope, a: AffineBatchNormForwardArgs): Promise<Dispatch[]> {
  const { n, k, d } = a;
  const op = `affine+batchnorm.forward(${a.mode}${a.relu ? '+relu' : ''}) n=${n} k=${k} d=${d}`;
  for (const [name, v] of Object.entries({ n, k, d })) assertCount(op, name, v);
  if (a.mode !== 'train' && a.mode !== 'test') throw new Error(`${op}: mode must be "train" or "test", got ${JSON.stringify(a.mode)}`);
  assertBuffer(op, 'x', a.x, n * k);
  assertBuffer(op, 'w', a.w, k * d);
  assertBuffers(op, { b: a.b, gamma: a.gamma, beta: a.beta, runningMean: a.runningMean, runningVar: a.runningVar }, d);
  assertBuffer(op, 'out', a.out, n * d);
  const limit = scope.ctx.device.limits.maxStorageBuffersPerShaderStage;
  const fusion = a.fusion ?? planAffineBatchNorm(n, k, d, limit);
  if (fusion !== 'off' && fusion !== 'product' && fusion !== 'partials')
    throw new Error(`${op}: fusion must be "off", "product" or "partials", got ${JSON.stringify(fusion)}`);
  const bn = { gamma: a.gamma, beta: a.beta, runningMean: a.runningMean, runningVar: a.runningVar, n, d, mode: a.mode };
  const settings = { eps: a.eps, momentum: a.momentum, relu: a.relu, saved: a.saved };
  if (fusion === 'off') {
    const pre = scope.createTensorBuffer(n * d * 4, `${op} x·W + b`);
    const product = await createMatmul(scope, { a: a.x, b: a.w, c: pre, bias: a.b, m: n, n: d, k });
    const saved = a.saved && { ...a.saved, mean: scope.createTensorBuffer(d * 4, `${op} mean`) };
    return [...product, ...(await createBatchNormForward(scope, { ...bn, ...settings, saved, x: pre, out: a.out }))];
  }
  if (limit < bindingsOf[fusion])
    throw new Error(`${op}: the fused kernel binds ${bindingsOf[fusion]} storage buffers, the device allows ${limit}`);
  if (columnTiling(n, d).chunks > 1) throw new Error(`${op}: ${n} rows are more than one column chunk; the fused kernel needs fewer`);
  // CPU adapters: one SIMD group of 4 lanes a workgroup (on SwiftShader 16 lanes took 2.5x and 64 lanes 15x as long
  // as 4 at n = 50, d = k = 100: a barrier there is a switch between the workgroup's SIMD groups); GPUs: 64 lanes
  const wg = a.workgroupSize ?? (isCpuAdapter(scope.ctx.adapter) ? 4 : 64);
  if (!Number.isInteger(wg) || wg < 1 || wg > 256 || (wg & (wg - 1)) !== 0)
    throw new Error(`${op}: workgroupSize must be a power of two <= 256, got ${wg}`);
  if (a.saved) {
    assertBuffer(op, 'saved.invStd', a.saved.invStd, d);
    assertBuffer(op, 'saved.xhat', a.saved.xhat, n * d);
  }
  const train = a.mode === 'train';
  const unused = (label: string) => scope.createTensorBuffer(4, `${op} ${label} (unused)`);
  const saved = a.saved ?? {
    invStd: scope.createTensorBuffer(d * 4, `${op} invStd`),
    xhat: train ? scope.createTensorBuffer(n * d * 4, `${op} xhat`) : unused('xhat'),
  };
  const list: Dispatch[] = [];
  let source: Record<string, TensorRef>;
  let splits = 1;
  if (fusion === 'product') source = { x: a.x, w: a.w };
  else {
    const p = await createMatmulPartials(scope, { a: a.x, b: a.w, c: a.out, m: n, n: d, k });
    list.push(p.dispatch);
    source = { part: p.partials };
    splits = p.splits;
  }
  const kernel = await getKernel(scope.ctx, {
    name: 'affine-batchnorm',
    source: fusedWgsl,
    entryPoint: fusion === 'product' ? 'fromProduct' : 'fromPartials',
    constants: { WG: wg, TRAIN: train ? 1 : 0, RELU: a.relu ? 1 : 0 },
  });
  const params = scope.createUniformBuffer(
    kernel,
    'params',
    { n, d, k, splits, eps: a.eps ?? 1e-5, momentum: a.momentum ?? 0.9 },
    `${op} params`,
  );
  const bound = { ...source, b: a.b, gamma: a.gamma, beta: a.beta, out: a.out, runningMean: a.runningMean, runningVar: a.runningVar };
  const what = fusion === 'product' ? 'x·W + b' : `${splits} partials + b`;
  list.push(createDispatch(scope, kernel, { ...bound, ...saved, params }, [Math.ceil(d / 4), 1, 1], `${op} fused (${what}) wg=${wg}`));
  return list;
}

/** The fused op's attributes: batchnorm's, and the plan forced (tests, benchmarks). */
export interface AffineBatchNormAttrs extends BatchNormAttrs {
  fusion?: AffineBatchNormFusion;
}

/**
 * relu?(batchnorm(x·W + b)) over inputs [x, W, b, gamma, beta], updating [runningMean, runningVar]. Train mode also outputs
 * invStd and xhat; backward is batchnorm's gradient (xmu from xhat / invStd), then affine's.
 */
export const affineBatchNormOp: OpDef<AffineBatchNormAttrs> = {
  name: 'affine_batchnorm',
  outputs([x, w, b, gamma, beta], { mode, relu }) {
    const [n, k] = [x!.shape[0]!, sizeOf(x!.shape.slice(1))];
    expectShape('affine_batchnorm', 'W', w!.shape, [k, -1]);
    const d = w!.shape[1]!;
    for (const [name, v] of [
      ['b', b!],
      ['gamma', gamma!],
      ['beta', beta!],
    ] as const)
      expectShape('affine_batchnorm', name, v.shape, [d]);
    const pre = `${w!.name}·x`;
    const out = [{ name: `${relu ? 'relu(bn' : 'bn'}(${pre})${relu ? ')' : ''}`, shape: [n, d] }];
    if (mode !== 'train') return out;
    return [...out, { name: `invStd(${pre})`, shape: [d] }, { name: `xhat(${pre})`, shape: [n, d] }];
  },
  encode(scope, { inputs: [x, w, b, gamma, beta], outputs: [out, invStd, xhat], updates: [runningMean, runningVar] }, node) {
    const { mode, eps, momentum, relu, fusion } = node.attrs;
    const [xv, wv] = node.inputs;
    return createAffineBatchNormForward(scope, {
      ...{ x: x!, w: w!, b: b!, gamma: gamma!, beta: beta!, out: out!, runningMean: runningMean!, runningVar: runningVar! },
      ...{ n: xv!.shape[0]!, k: wv!.shape[0]!, d: wv!.shape[1]!, mode, eps, momentum, relu, fusion },
      saved: mode === 'train' ? { invStd: invStd!, xhat: xhat! } : undefined,
    });
  },
  backward(g, node, [dout]) {
    if (node.attrs.mode !== 'train') throw new Error('affine_batchnorm: backward of a test-mode batchnorm is not defined');
    const [x, w, , gamma] = node.inputs;
    const [out, invStd, xhat] = node.outputs;
    const bnInputs = [dout!, xhat!, invStd!, gamma!, ...(node.attrs.relu ? [out!] : [])];
    const [dpre, dgamma, dbeta] = g.apply(batchNormGradOp, bnInputs, { variant: node.attrs.variant, xmuFromXhat: true }, [], 'grad');
    const withDx = needsGrad(x!);
    const outs = g.apply(affineGradOp, [x!, w!, dpre!], { withDx }, [], 'grad');
    const [dx, dW, db] = withDx ? outs : [null, ...outs];
    return [dx ?? null, dW!, db!, dgamma!, dbeta!];
  },
};
