// Layer normalization on the GPU, device-resident: forward and closed-form backward (row reductions, with or without subgroups), and its graph op.
import layerNormWgsl from '../../shaders/layernorm.wgsl?raw';
import rowSumWgsl from '../../shaders/row-sum.wgsl?raw';
import treeSumWgsl from '../../shaders/lib/tree-sum.wgsl?raw';
import rowSumSubgroupsWgsl from '../../shaders/row-sum-subgroups.wgsl?raw';
import { getKernel, linkWgsl, type Kernel } from '../gpu/kernel.ts';
import { createDispatch as dispatch, gridFor, type Dispatch } from '../gpu/dispatch.ts';
import type { GpuScope, TensorRef } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import { assertBuffer, assertBuffers, assertCount } from './op-checks.ts';
import { createParamGradSums, makeNormGrad, type NormBackwardArgs } from './norm-columns.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';

/** Where forward leaves what backward needs: mean and invStd per row [n], xhat [n, d]. */
export interface LayerNormSaved {
  mean: TensorRef;
  invStd: TensorRef;
  xhat: TensorRef;
}

/** How the row sums are taken: `subgroupAdd` (the adapter's `subgroups` feature) or a tree in workgroup memory. */
export type RowReduction = 'subgroups' | 'workgroup';

export interface LayerNormForwardArgs {
  x: TensorRef;
  gamma: TensorRef;
  beta: TensorRef;
  out: TensorRef;
  n: number;
  d: number;
  /** Added to the variance; default 1e-5. */
  eps?: number;
  saved?: LayerNormSaved;
  /** Default: 'subgroups' where the device has them, else 'workgroup'. */
  reduction?: RowReduction;
  /** The subgroup width the 'subgroups' path assumes (invocations per row); see rowLanes. */
  subgroupWidth?: number;
  /** A population's model blocks (see ModelBlocks); default one model of d real features. */
  blocks?: ModelBlocks;
}

/**
 * A population's layout (src/nn/population.ts): x [n, models·d], each row's d-column block of model k normalized
 * alone with model k's gamma and beta (gamma [models·d]); only the first `features` columns of a block are real
 * (the stored width is rounded up), the others come out 0 and take no part in the statistics.
 */
export interface ModelBlocks {
  models: number;
  features: number;
}

export interface LayerNormBackwardArgs extends NormBackwardArgs {
  reduction?: RowReduction;
  subgroupWidth?: number;
  blocks?: ModelBlocks;
}

/** Invocations per row on the workgroup path. */
const wgRow = 64;

/**
 * The row reduction to use: the one asked for (an error when 'subgroups' is asked of a device without them),
 * else subgroups where the device has the feature and reports its smallest subgroup size.
 *   rowReduction(gpu);              // 'subgroups' on SwiftShader in Chromium
 *   rowReduction(gpu, 'workgroup'); // always possible
 */
export function rowReduction(ctx: GpuContext, asked?: RowReduction): RowReduction {
  const can = ctx.hasSubgroups && ctx.subgroupMinSize > 0;
  if (asked === 'subgroups' && !can) {
    throw new Error(
      `layernorm: reduction 'subgroups' needs the device feature "subgroups" and the adapter's subgroupMinSize (hasSubgroups ${ctx.hasSubgroups}, subgroupMinSize ${ctx.subgroupMinSize})`,
    );
  }
  if (asked !== undefined && asked !== 'subgroups' && asked !== 'workgroup') {
    throw new Error(`layernorm: reduction must be "subgroups" or "workgroup", got ${JSON.stringify(asked)}`);
  }
  return asked ?? (can ? 'subgroups' : 'workgroup');
}

/**
 * Invocations per row: 64 on the workgroup path; on the subgroup path the subgroup width the kernel assumes, by
 * default the adapter's subgroupMinSize (a workgroup is one subgroup), or `subgroupWidth` when forced (1 to 256; wider
 * than the adapter's smallest subgroup, the row sum is built from the subgroups it has: row-sum-subgroups.wgsl).
 *   rowLanes(gpu, 'subgroups');     // 4 on SwiftShader, 32 on NVIDIA
 *   rowLanes(gpu, 'subgroups', 32); // 32 anywhere with subgroups (NVIDIA's setting, forced)
 */
export function rowLanes(ctx: GpuContext, reduction: RowReduction, subgroupWidth?: number): number {
  if (subgroupWidth === undefined) return reduction === 'subgroups' ? ctx.subgroupMinSize : wgRow;
  if (reduction !== 'subgroups') throw new Error(`layernorm: subgroupWidth applies to reduction 'subgroups', not '${reduction}'`);
  if (!Number.isInteger(subgroupWidth) || subgroupWidth < 1 || subgroupWidth > 256)
    throw new Error(`layernorm: subgroupWidth must be an integer from 1 to 256, got ${subgroupWidth}`);
  const most = ctx.device.limits.maxComputeInvocationsPerWorkgroup;
  if (subgroupWidth > most) throw new Error(`layernorm: subgroupWidth ${subgroupWidth} > maxComputeInvocationsPerWorkgroup ${most}`);
  return subgroupWidth;
}

function layerNormKernel(
  scope: GpuScope,
  reduction: RowReduction,
  lanes: number,
  entryPoint: string,
  constants: Record<string, number> = {},
): Promise<Kernel> {
  const sub = reduction === 'subgroups';
  // The subgroup prelude's `enable subgroups;` must open the module, so the prelude goes first.
  return getKernel(scope.ctx, {
    name: sub ? 'layernorm-subgroups' : 'layernorm',
    source: sub ? linkWgsl(rowSumSubgroupsWgsl, layerNormWgsl) : linkWgsl(treeSumWgsl, rowSumWgsl, layerNormWgsl),
    entryPoint,
    constants: { WG: lanes, ...(sub ? { WIDE: lanes > scope.ctx.subgroupMinSize ? 1 : 0 } : {}), ...constants },
  });
}

/**
 * What a pass runs on, checked: the row reduction and lanes per row, the op's name in labels and errors (path, shape,
 * blocks, lanes), and the kernel's view of x [n, M·d] as n·M rows of d.
 */
function planRows(ctx: GpuContext, pass: string, a: Pick<LayerNormForwardArgs, 'n' | 'd' | 'reduction' | 'subgroupWidth' | 'blocks'>) {
  const { n, d, blocks } = a;
  const reduction = rowReduction(ctx, a.reduction);
  const lanes = rowLanes(ctx, reduction, a.subgroupWidth);
  const b = blocks ? ` models=${blocks.models} features=${blocks.features}` : '';
  const op = `layernorm.${pass}(${reduction}) n=${n} d=${d}${b} lanes=${lanes}`;
  assertCount(op, 'n', n);
  assertCount(op, 'd', d);
  const models = blocks?.models ?? 1;
  const features = blocks?.features ?? d;
  assertCount(op, 'blocks.models', models);
  assertCount(op, 'blocks.features', features);
  if (features > d) throw new Error(`${op}: blocks.features ${features} is more than the ${d} stored columns of a block`);
  return { op, reduction, lanes, rows: n * models, models, features };
}

/**
 * Record layer norm forward for x [n, d]: per row, mean and biased variance over its d features (two passes),
 * out = gamma * xhat + beta; `saved` (mean and invStd [n], xhat [n, d]) written when given. One dispatch.
 *   const fwd = await createLayerNormForward(scope, { x, gamma, beta, out, n: 50, d: 100, saved });
 *   await runDispatches(gpu, fwd);
 */
export async function createLayerNormForward(scope: GpuScope, a: LayerNormForwardArgs): Promise<Dispatch[]> {
  const { d } = a;
  const { op, reduction, lanes, rows, models, features } = planRows(scope.ctx, 'forward', a);
  assertBuffers(op, { x: a.x, out: a.out }, rows * d);
  assertBuffers(op, { gamma: a.gamma, beta: a.beta }, models * d);
  if (a.saved) {
    assertBuffer(op, 'saved.mean', a.saved.mean, rows);
    assertBuffer(op, 'saved.invStd', a.saved.invStd, rows);
    assertBuffer(op, 'saved.xhat', a.saved.xhat, rows * d);
  }
  const eps = a.eps ?? 1e-5;
  if (!(eps >= 0 && Number.isFinite(eps))) throw new Error(`${op}: eps must be finite and >= 0, got ${eps}`);
  const kernel = await layerNormKernel(scope, reduction, lanes, 'forward', { SAVE: a.saved ? 1 : 0 });
  const params = scope.createUniformBuffer(kernel, 'params', { n: rows, d, eps, models, features }, `${op} params`);
  const unused = (label: string) => scope.createTensorBuffer(4, `${op} ${label} (unused)`);
  return [
    dispatch(
      scope,
      kernel,
      {
        x: a.x,
        gamma: a.gamma,
        beta: a.beta,
        out: a.out,
        mean: a.saved?.mean ?? scope.createTensorBuffer(rows * 4, `${op} mean`),
        invStd: a.saved?.invStd ?? scope.createTensorBuffer(rows * 4, `${op} invStd`),
        xhat: a.saved?.xhat ?? unused('xhat'),
        params,
      },
      gridFor(rows, 1),
      op,
    ),
  ];
}

/**
 * Record layer norm backward for dout [n, d] from forward's xhat and invStd: dx in closed form per row (both row
 * sums in one reduction, then dx), and dgamma = sum_i dout * xhat, dbeta = sum_i dout as column sums.
 *   const bwd = await createLayerNormBackward(scope, { dout, xhat, invStd, gamma, dx, dgamma, dbeta, n: 50, d: 100 });
 *   await runDispatches(gpu, bwd);
 */
export async function createLayerNormBackward(scope: GpuScope, a: LayerNormBackwardArgs): Promise<Dispatch[]> {
  const { n, d } = a;
  const { op, reduction, lanes, rows, models, features } = planRows(scope.ctx, 'backward', a);
  assertBuffers(op, { dout: a.dout, xhat: a.xhat, dx: a.dx }, rows * d);
  assertBuffer(op, 'invStd', a.invStd, rows);
  assertBuffers(op, { gamma: a.gamma, dgamma: a.dgamma, dbeta: a.dbeta }, models * d);
  const kernel = await layerNormKernel(scope, reduction, lanes, 'backward');
  const params = scope.createUniformBuffer(kernel, 'params', { n: rows, d, eps: 0, models, features }, `${op} params`);
  return [
    dispatch(
      scope,
      kernel,
      { dout: a.dout, gamma: a.gamma, savedXhat: a.xhat, savedInvStd: a.invStd, dx: a.dx, params },
      gridFor(rows, 1),
      `${op} dx`,
    ),
    // dgamma, dbeta: column sums of [n, models·d] (every model's at once; the unreal columns' dout and xhat are 0)
    ...(await createParamGradSums(scope, { dout: a.dout, xhat: a.xhat, dbeta: a.dbeta, dgamma: a.dgamma, n, d: models * d })),
  ];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

export interface LayerNormAttrs {
  eps: number;
  reduction?: RowReduction;
  subgroupWidth?: number;
  blocks?: ModelBlocks;
}

/**
 * Layer norm over inputs [x, gamma, beta]; outputs out, and the saved mean, 1/σ (per row) and x̂ that backward
 * reads. No running statistics: a test-mode graph computes exactly what a train-mode one does.
 */
export const layerNormOp: OpDef<LayerNormAttrs> = {
  name: 'layernorm',
  outputs([x, gamma, beta], attrs) {
    expectShape('layernorm', 'x', x!.shape, [-1, gamma!.shape[0]!]);
    expectShape('layernorm', 'beta', beta!.shape, gamma!.shape);
    const rows = x!.shape[0]! * (attrs.blocks?.models ?? 1);
    return [
      { name: `ln(${x!.name})`, shape: [...x!.shape] },
      { name: `lnMean(${x!.name})`, shape: [rows] },
      { name: `lnInvStd(${x!.name})`, shape: [rows] },
      { name: `lnXhat(${x!.name})`, shape: [...x!.shape] },
    ];
  },
  encode(scope, { inputs: [x, gamma, beta], outputs: [out, mean, invStd, xhat] }, node) {
    const [n, width] = node.inputs[0]!.shape as [number, number];
    const { blocks } = node.attrs;
    return createLayerNormForward(scope, {
      x: x!,
      gamma: gamma!,
      beta: beta!,
      out: out!,
      n,
      d: width / (blocks?.models ?? 1),
      eps: node.attrs.eps,
      reduction: node.attrs.reduction,
      subgroupWidth: node.attrs.subgroupWidth,
      blocks,
      saved: { mean: mean!, invStd: invStd!, xhat: xhat! },
    });
  },
  backward(g, node, [dout]) {
    const [, gamma] = node.inputs;
    const [, , invStd, xhat] = node.outputs;
    const [dx, dgamma, dbeta] = g.apply(
      layerNormGradOp,
      [dout!, xhat!, invStd!, gamma!],
      { reduction: node.attrs.reduction, subgroupWidth: node.attrs.subgroupWidth, blocks: node.attrs.blocks },
      [],
      'grad',
    );
    return [dx!, dgamma!, dbeta!];
  },
};

const lnGrad = makeNormGrad('ln');

/** [dx, dgamma, dbeta] from [dout, xhat, invStd, gamma]. */
export const layerNormGradOp: OpDef<{ reduction?: RowReduction; subgroupWidth?: number; blocks?: ModelBlocks }> = {
  name: 'layernorm_grad',
  outputs: lnGrad.outputs,
  encode(scope, bound, node) {
    const [n, width] = node.inputs[0]!.shape as [number, number];
    const { blocks } = node.attrs;
    return createLayerNormBackward(scope, {
      ...lnGrad.args(bound),
      n,
      d: width / (blocks?.models ?? 1),
      reduction: node.attrs.reduction,
      subgroupWidth: node.attrs.subgroupWidth,
      blocks,
    });
  },
};
