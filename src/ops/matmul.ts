// Matmul C = op(A)·op(B) (+ bias): the GPU encode; the variants are a table (matmul-variants.ts), the launch plan is
// matmul-plan.ts, the host form matmul-host.ts.
import { createBindGroup, getKernel, linkWgsl } from '../gpu/kernel.ts';
import { refBuffer, refSize, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import { isCpuAdapter, subgroupQuads } from '../gpu/probes.ts';
import { expectShape, type OpDef } from '../graph/graph.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { planMatmul, type MatmulForce } from './matmul-plan.ts';
import { matmulReduce, matmulVariants, type MatmulLayout, type MatmulShape } from './matmul-variants.ts';

export * from './matmul-variants.ts';
export * from './matmul-plan.ts';

export interface MatmulArgs extends MatmulForce, MatmulShape {
  a: TensorRef;
  b: TensorRef;
  /** Output, m×n; must not alias a or b. */
  c: TensorRef;
  /** Added to every row of C (n values). */
  bias?: TensorRef;
  /** `count` independent products in one dispatch, batch i at i·a, i·b, i·c (and i·bias) elements (a = 0 shares A). */
  batch?: MatmulBatch;
  /** ReLU epilogue: C = max(0, op(A)·op(B) + bias), applied where C is final (the main kernel, or the split-K reduce). */
  relu?: boolean;
}

/** The batches of a batched matmul: how many, and the element offsets from one batch's A, B, C and bias to the next. */
export interface MatmulBatch {
  count: number;
  a: number;
  b: number;
  c: number;
  bias?: number;
}

function layoutName(transA?: boolean, transB?: boolean): string {
  return `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
}

/**
 * Record C (m×n) = op(A)·op(B) (+ bias[n] on every row), all row-major f32; op(A) is m×k (A stored k×m
 * when transA), op(B) is k×n (B stored n×k when transB). One dispatch, or two when K is split.
 *   const mm = await createMatmul(scope, { a: x, b: w, c: out, bias: b, m: 50, n: 100, k: 3072 });
 *   await runDispatches(gpu, mm);
 */
export async function createMatmul(scope: GpuScope, args: MatmulArgs): Promise<Dispatch[]> {
  const e = await encodeMatmul(scope, args, false);
  if (e.splits === 1) return [e.main];
  const { m, n } = args;
  const batch = args.batch ?? { count: 1, a: 0, b: 0, c: 0, bias: 0 };
  const hasBias = args.bias !== undefined;
  const reduceWg = 64;
  const reduce = await getKernel(scope.ctx, {
    name: matmulReduce.module,
    source: linkWgsl(...matmulReduce.sources),
    entryPoint: matmulReduce.entryPoint,
    constants: { HAS_BIAS: +hasBias, RELU: +(args.relu ?? false), WG: reduceWg },
  });
  const reduceParams = scope.createUniformBuffer(reduce, 'params', e.uniforms, `${e.op} reduce params`);
  return [
    e.main,
    {
      kernel: reduce,
      bindGroup: createBindGroup(scope.ctx, reduce, { part: e.target, c: args.c, bias: e.bias, params: reduceParams }),
      workgroups: [Math.min(maxWorkgroupsPerDim, Math.ceil((batch.count * m * n) / reduceWg)), 1, 1],
      label: `${e.op} reduce ${e.splits} splits${hasBias ? ' +bias' : ''}${args.relu ? ' +relu' : ''}`,
    },
  ];
}

/**
 * Record the K-split partial products of C = op(A)·op(B) without their sum: one dispatch writing `splits` m×n partials
 * packed [split][m][n] into `partials` (one unbatched product, no bias), for a kernel that sums them itself (the fused
 * affine + batchnorm forward). `c` is not written.
 *   const { dispatch, partials, splits } = await createMatmulPartials(scope, { a: x, b: w, c: pre, m: 50, n: 100, k: 3072 });
 *   splits; // 3 on SwiftShader
 */
export async function createMatmulPartials(
  scope: GpuScope,
  args: Omit<MatmulArgs, 'bias' | 'batch' | 'ldc' | 'relu'>,
): Promise<{ dispatch: Dispatch; partials: GPUBuffer; splits: number }> {
  const e = await encodeMatmul(scope, args, true);
  return { dispatch: e.main, partials: e.target as GPUBuffer, splits: e.splits };
}

/** The main launch of a product (into C, or into partials when split or asked for) and what its reduce pass needs. */
async function encodeMatmul(scope: GpuScope, args: MatmulArgs, partials: boolean) {
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

  const layout: MatmulLayout = {
    m,
    n,
    k,
    transA,
    transB,
    lda,
    ldb,
    ldc,
    batches: batch.count,
    batchA: batch.a,
    batchB: batch.b,
    batchC: batch.c,
    bytesA: refSize(args.a),
    bytesB: refSize(args.b),
    bytesC: refSize(args.c),
  };
  // the subgroup probe (one dispatch, once per device) only where block8sg could be picked or is asked for
  const sgRow = matmulVariants.block8sg;
  const sgWanted = args.variant === 'block8sg' || (args.variant === undefined && isCpuAdapter(scope.ctx.adapter));
  const quads = sgWanted && sgRow.eligible(layout, { cpu: true, subgroupQuads: true }) === true && (await subgroupQuads(scope.ctx));
  const plan = planMatmul(scope.ctx.adapter, {
    ...layout,
    variant: args.variant,
    splits: args.splits,
    workgroupSize: args.workgroupSize,
    subgroupQuads: quads,
    workgroupStorage: scope.ctx.device.limits.maxComputeWorkgroupStorageSize,
    relu: args.relu && !partials,
  });
  const row = matmulVariants[plan.variant];
  const split = plan.splits > 1;
  const hasBias = args.bias !== undefined && !partials;
  const relu = (args.relu ?? false) && !partials;
  const bias = args.bias ?? scope.createTensorBuffer(4, 'matmul.nobias');
  const store = row.vec4Store?.when(layout, split || partials) ? row.vec4Store : undefined;
  const kernel = await getKernel(scope.ctx, {
    name: row.module,
    source: linkWgsl(...row.sources),
    entryPoint: store?.entryPoint ?? row.entryPoint,
    constants: { TRANS_A: +transA, TRANS_B: +transB, HAS_BIAS: +(hasBias && !split), RELU: +(relu && !split), WG: plan.wg },
  });
  // the kernel's Params: the layout's sizes, strides and batch offsets (not its layout flags or bytes), and the plan's cut
  const { transA: _ta, transB: _tb, bytesA: _ba, bytesB: _bb, bytesC: _bc, ...sizes } = layout;
  const { kchunk, nb, blocks, splits } = plan;
  const uniforms = { ...sizes, batchBias: batch.bias ?? 0, kchunk, nb, blocks, splits };
  const params = scope.createUniformBuffer(kernel, 'params', uniforms, `${op} params`);
  const target = split || partials ? scope.createTensorBuffer(plan.splits * batch.count * m * n * 4, `${op} partials`) : args.c;
  const label = `${op} ${plan.variant}${store ? ' (vec4 stores)' : ''} wg=${plan.wg}${split ? ` splitK=${plan.splits}` : ''}${hasBias && !split ? ' +bias' : ''}${relu && !split ? ' +relu' : ''}`;
  const names = { ...row.bindings, c: store?.c ?? row.bindings.c };
  const main: Dispatch = {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { [names.a]: args.a, [names.b]: args.b, [names.c]: target, bias, params }),
    workgroups: plan.workgroups,
    label: partials ? `${label} (partials)` : label,
  };
  return { main, target, bias, uniforms, op, splits: plan.splits };
}

/** Whether A and B are stored transposed (A [k, m], B [n, k]). */
export interface MatmulAttrs {
  transA?: boolean;
  transB?: boolean;
}

/** C [m, n] = op(A)·op(B) (+ bias [n]) as a graph op, inputs [a, b] or [a, b, bias] as stored; no backward rule. */
export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  outputs([a, b, bias], { transA, transB }) {
    expectShape('matmul', 'a', a!.shape, [-1, -1]);
    const [m, k] = transA ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
    expectShape('matmul', 'b', b!.shape, transB ? [-1, k] : [k, -1]);
    const n = transB ? b!.shape[0]! : b!.shape[1]!;
    if (bias) expectShape('matmul', 'bias', bias.shape, [n]);
    return [{ name: `${a!.name}·${b!.name}`, shape: [m, n] }];
  },
  encode(scope, { inputs: [a, b, bias], outputs: [c] }, node) {
    const { transA = false, transB = false } = node.attrs;
    const [m, n] = node.outputs[0]!.shape as [number, number];
    const k = node.inputs[0]!.shape[transA ? 0 : 1]!;
    return createMatmul(scope, { a: a!, b: b!, c: c!, bias, m, n, k, transA, transB });
  },
};
