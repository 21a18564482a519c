// Matmul C = op(A)·op(B) (+ bias): launch planning (block kernel, split-K), GPU encode (shaders/matmul.wgsl); the host form is in matmul-host.ts.
import matmulWgsl from '../../shaders/matmul.wgsl?raw';
import { createBindGroup, getKernel } from '../gpu/kernel.ts';
import { refBuffer, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import type { AdapterSummary } from '../gpu/device.ts';
import { assertBuffer, assertCount } from './op-checks.ts';

/** Which kernel runs: 8x8 blocks with scalar loads (any shape), or 4x4 blocks with vec4 loads (aligned shapes). */
export type MatmulVariant = 'block8' | 'vec4';

export interface MatmulArgs {
  a: TensorRef;
  b: TensorRef;
  /** Output, m×n; must not alias a or b. */
  c: TensorRef;
  /** Added to every row of C (n values). */
  bias?: TensorRef;
  m: number;
  n: number;
  k: number;
  /** A is stored k×m (C = Aᵀ·B). */
  transA?: boolean;
  /** B is stored n×k (C = A·Bᵀ). */
  transB?: boolean;
  /** Tuning knob (benchmarks, tests): force a kernel; default picks per adapter and alignment. */
  variant?: MatmulVariant;
  /** Tuning knob: force the number of K splits; default aims at enough workgroups for the adapter. */
  splits?: number;
  /** Tuning knob: invocations per workgroup (default 16 on CPU adapters, 64 on GPUs). */
  workgroupSize?: number;
}

/** How a matmul is launched: kernel, block, workgroup size, K splits and grid. */
export interface MatmulPlan {
  variant: MatmulVariant;
  block: number;
  wg: number;
  splits: number;
  kchunk: number;
  blocks: number;
  nb: number;
  workgroups: [number, number, number];
}

/**
 * True for software adapters (SwiftShader, llvmpipe/lavapipe, WARP), where loads, not flops, set the pace.
 *   isCpuAdapter(gpu.adapter); // true in headless Chromium without a GPU
 *   isCpuAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: '', runtime: 'node' }); // false
 */
export function isCpuAdapter(adapter: AdapterSummary): boolean {
  return /swiftshader|llvmpipe|lavapipe|warp|software|cpu/i.test(`${adapter.vendor} ${adapter.architecture} ${adapter.description} ${adapter.device}`);
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
 * Pick kernel, workgroup size and K splits for a shape on an adapter (CPU: few big workgroups; GPU: many).
 *   const plan = planMatmul(gpu.adapter, { m: 50, n: 100, k: 3072 });
 *   plan.splits; // > 1: K is split so the small output still fills the machine
 */
export function planMatmul(
  adapter: AdapterSummary,
  s: { m: number; n: number; k: number; transA?: boolean; transB?: boolean; variant?: MatmulVariant; splits?: number; workgroupSize?: number },
): MatmulPlan {
  const cpu = isCpuAdapter(adapter);
  const aligned = vec4Eligible(s.m, s.n, s.k, s.transA, s.transB);
  const variant = s.variant ?? (!cpu && aligned ? 'vec4' : 'block8');
  if (variant === 'vec4' && !aligned) {
    throw new Error(`matmul ${s.m}x${s.n}x${s.k}${s.transA ? ' transA' : ''}${s.transB ? ' transB' : ''}: the vec4 kernel needs m % 4 == 0 when transA, n % 4 == 0 unless transB, and k % 4 == 0 unless transA without transB`);
  }
  const block = variant === 'vec4' ? 4 : 8;
  const wg = s.workgroupSize ?? (cpu ? 16 : 64);
  assertCount(`matmul ${s.m}x${s.n}x${s.k}`, 'workgroupSize', wg);
  const nb = Math.ceil(s.n / block);
  const blocks = Math.ceil(s.m / block) * nb;
  const groups = Math.ceil(blocks / wg);
  // SwiftShader hands workgroups to 16 task batches over its threads; a GPU wants a few per SM.
  const targetGroups = cpu ? 16 : 512;
  const minChunk = cpu ? 64 : 128;
  let splits = s.splits ?? Math.max(1, Math.min(Math.floor(s.k / minChunk), Math.ceil(targetGroups / groups)));
  assertCount(`matmul ${s.m}x${s.n}x${s.k}`, 'splits', splits);
  const kchunk = Math.ceil(Math.ceil(s.k / splits) / 4) * 4;
  splits = Math.ceil(s.k / kchunk);
  const x = Math.min(groups, maxWorkgroupsPerDim);
  const y = Math.ceil(groups / x);
  if (y > maxWorkgroupsPerDim || splits > maxWorkgroupsPerDim) throw new Error(`matmul ${s.m}x${s.n}x${s.k}: too large for one dispatch (${groups} workgroups x ${splits} splits)`);
  return { variant, block, wg, splits, kchunk, blocks, nb, workgroups: [x, y, splits] };
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
export async function createMatmul(
  scope: GpuScope,
  args: MatmulArgs,
): Promise<Dispatch[]> {
  const { m, n, k, transA = false, transB = false } = args;
  const op = `matmul ${m}x${n}x${k} (${layoutName(transA, transB)})`;
  assertCount(op, 'm', m);
  assertCount(op, 'n', n);
  assertCount(op, 'k', k);
  assertBuffer(op, transA ? 'a (k×m)' : 'a (m×k)', args.a, m * k);
  assertBuffer(op, transB ? 'b (n×k)' : 'b (k×n)', args.b, k * n);
  assertBuffer(op, 'c (m×n)', args.c, m * n);
  if (args.bias) assertBuffer(op, 'bias (n)', args.bias, n);
  if (refBuffer(args.c) === refBuffer(args.a) || refBuffer(args.c) === refBuffer(args.b)) throw new Error(`${op}: c must not be the same buffer as a or b`);

  const plan = planMatmul(scope.ctx.adapter, { m, n, k, transA, transB, variant: args.variant, splits: args.splits, workgroupSize: args.workgroupSize });
  const split = plan.splits > 1;
  const hasBias = args.bias !== undefined;
  const bias = args.bias ?? scope.createTensorBuffer(4, 'matmul.nobias');
  const entryPoint = plan.variant === 'vec4' ? 'main_vec4' : 'main';
  const kernel = await getKernel(scope.ctx, {
    name: 'matmul', source: matmulWgsl, entryPoint,
    constants: { TRANS_A: +transA, TRANS_B: +transB, HAS_BIAS: +(hasBias && !split), WG: plan.wg },
  });
  const uniforms = { m, n, k, kchunk: plan.kchunk, nb: plan.nb, blocks: plan.blocks, splits: plan.splits };
  const params = scope.createUniformBuffer(kernel, 'params', uniforms, `${op} params`);
  const target = split ? scope.createTensorBuffer(plan.splits * m * n * 4, `${op} partials`) : args.c;
  const inputs: Record<string, TensorRef> = plan.variant === 'vec4' ? { av: args.a, bv: args.b } : { a: args.a, b: args.b };
  const label = `${op} ${plan.variant} wg=${plan.wg}${split ? ` splitK=${plan.splits}` : ''}${hasBias && !split ? ' +bias' : ''}`;
  const main: Dispatch = {
    kernel,
    bindGroup: createBindGroup(scope.ctx, kernel, { ...inputs, c: target, bias, params }),
    workgroups: plan.workgroups,
    label,
  };
  if (!split) return [main];
  const reduceWg = 64;
  const reduce = await getKernel(scope.ctx, { name: 'matmul', source: matmulWgsl, entryPoint: 'reduce', constants: { HAS_BIAS: +hasBias, WG: reduceWg } });
  const reduceParams = scope.createUniformBuffer(reduce, 'params', uniforms, `${op} reduce params`);
  return [main, {
    kernel: reduce,
    bindGroup: createBindGroup(scope.ctx, reduce, { part: target, c: args.c, bias, params: reduceParams }),
    workgroups: [Math.min(maxWorkgroupsPerDim, Math.ceil((m * n) / reduceWg)), 1, 1],
    label: `${op} reduce ${plan.splits} splits${hasBias ? ' +bias' : ''}`,
  }];
}

