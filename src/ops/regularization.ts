// L2 regularization on the GPU (shaders/regularization.wgsl): dw += reg·w and the loss term 0.5·reg·Σw², and every loss term of a step in one launch.
import regularizationWgsl from '../../shaders/regularization.wgsl?raw';
import { getKernel } from '../gpu/kernel.ts';
import { createDispatch, maxWorkgroupsPerDim, type Dispatch } from '../gpu/dispatch.ts';
import { refBuffer, refOffset, type GpuScope, type TensorRef } from '../gpu/buffers.ts';
import { assertBuffer, assertCount } from './op-checks.ts';
import { sizeOf, type OpDef } from '../graph/graph.ts';

export interface L2RegularizationArgs {
  /** The weights, `count` f32 (per model: a population's models stack theirs, model k from k·count on). */
  w: TensorRef;
  /** Their gradient, updated in place: dw += reg·w. */
  dw: TensorRef;
  count: number;
  /** Regularization strength (skipping the op when it is 0 is the caller's choice); one per model for a population. */
  reg: number | readonly number[];
  /** f32 buffer; loss[lossIndex] = 0.5·reg·Σw² (written, not added); model k's at lossIndex + k·lossStride. */
  loss: TensorRef;
  lossIndex: number;
  lossStride?: number;
}

/** Workgroup size of both passes, and the most workgroups `apply` takes (one partial sum per invocation). */
const wg = 64;
const maxApplyWorkgroups = 64;
/** About how many quads of elements each `apply` invocation takes. */
const quadsPerInvocation = 8;

/**
 * Record L2 regularization of one weight tensor: dw += reg·w, loss[lossIndex] = 0.5·reg·Σw² (two dispatches).
 *   const l2 = await createL2Regularization(scope, { w: W1, dw: dW1, count: 3072 * 100, reg: 0.1, loss, lossIndex: 1 });
 *   await runDispatches(gpu, [...backward, ...l2]);
 */
export async function createL2Regularization(scope: GpuScope, a: L2RegularizationArgs): Promise<Dispatch[]> {
  const regs = typeof a.reg === 'number' ? [a.reg] : [...a.reg];
  const models = regs.length;
  const lossStride = a.lossStride ?? 1;
  const op = `l2-regularization count=${a.count}${models > 1 ? ` models=${models}` : ''}`;
  assertCount(op, 'count', a.count);
  assertCount(op, 'models', models);
  assertCount(op, 'lossIndex', a.lossIndex, 0);
  assertCount(op, 'lossStride', lossStride);
  regs.forEach((r, k) => {
    if (!Number.isFinite(r)) throw new Error(`${op}: reg${models > 1 ? `[${k}]` : ''} must be a finite number, got ${r}`);
  });
  assertBuffer(op, 'w', a.w, a.count * models);
  assertBuffer(op, 'dw', a.dw, a.count * models);
  assertBuffer(op, 'loss', a.loss, a.lossIndex + (models - 1) * lossStride + 1);
  const [apply, finish] = await Promise.all([
    getKernel(scope.ctx, { name: 'regularization', source: regularizationWgsl, entryPoint: 'apply', constants: { WG: wg } }),
    getKernel(scope.ctx, { name: 'regularization', source: regularizationWgsl, entryPoint: 'finish', constants: { WG: wg } }),
  ]);
  const workgroups = Math.min(maxApplyWorkgroups, Math.ceil(a.count / 4 / (wg * quadsPerInvocation)));
  const partials = workgroups * wg;
  const params = scope.createUniformBuffer(
    apply,
    'params',
    { count: a.count, lossIndex: a.lossIndex, lossStride, partials },
    `${op} params`,
  );
  const partial = scope.createTensorBuffer(partials * models * 4, `${op} partial sums`);
  const regBuf = scope.createTensorBuffer(Float32Array.from(regs), `${op} strengths`);
  return [
    createDispatch(scope, apply, { w: a.w, dw: a.dw, partial, params, regs: regBuf }, [workgroups, models, 1], `${op} apply`),
    createDispatch(scope, finish, { partial, loss: a.loss, params, regs: regBuf }, [models, 1, 1], `${op} finish`),
  ];
}

// The graph op: shape rule, encode and backward rule, beside the kernel wrapper they use.

/** dW += reg·W and loss[lossIndex] = 0.5·reg·ΣW², in place on [dW, loss]; per model (one reg each, slots lossStride apart) for a population. */
export const l2Op: OpDef<{ reg: number | readonly number[]; lossIndex: number; lossStride?: number }> = {
  name: 'l2_regularization',
  outputs() {
    return [];
  },
  encode(scope, { inputs: [w], updates: [dw, loss] }, node) {
    const { reg, lossIndex, lossStride } = node.attrs;
    const models = typeof reg === 'number' ? 1 : reg.length;
    return createL2Regularization(scope, {
      w: w!,
      dw: dw!,
      count: sizeOf(node.inputs[0]!.shape) / models,
      reg,
      loss: loss!,
      lossIndex,
      lossStride,
    });
  },
};

/** Elements of one model's block of a weight tensor that one loss slot sums (one workgroup of `losses` each). */
export const l2ChunkElements = 16384;

/**
 * The loss slots the L2 terms of tensors of these sizes (elements per model) take: one per chunk of `l2ChunkElements`.
 *   makeL2LossSlots([3072 * 100, 100 * 10]); // [19, 1]
 */
export function makeL2LossSlots(perModel: readonly number[]): number[] {
  return perModel.map((n) => Math.ceil(n / l2ChunkElements));
}

/** One weight tensor's L2 loss term: its buffer range (`models` blocks of `perModel` f32) and its strength(s). */
export interface L2LossTerm {
  w: TensorRef;
  perModel: number;
  reg: number | readonly number[];
}

/**
 * Record every L2 loss term 0.5·reg·ΣW² in one launch per buffer the weights sit in (one for a model's store): tensor
 * t of model k writes its chunk sums to slots lossIndex + k·lossStride + (slots of the tensors before it) + chunk.
 *   const d = await createL2Losses(scope, { terms: [{ w: W1, perModel: 307200, reg: 0.1 }], models: 1, loss, lossIndex: 1, lossStride: 20 });
 *   await runDispatches(gpu, d); // loss[1..19] add up to 0.05·ΣW1²
 */
export async function createL2Losses(
  scope: GpuScope,
  a: { terms: L2LossTerm[]; models: number; loss: TensorRef; lossIndex: number; lossStride: number },
): Promise<Dispatch[]> {
  const op = `l2-losses x${a.terms.length}${a.models > 1 ? ` models=${a.models}` : ''}`;
  assertCount(op, 'models', a.models);
  assertCount(op, 'lossIndex', a.lossIndex, 0);
  assertCount(op, 'lossStride', a.lossStride);
  const slots = makeL2LossSlots(a.terms.map((t) => t.perModel));
  const firstSlot = slots.map((_, i) => slots.slice(0, i).reduce((x, y) => x + y, 0));
  const total = firstSlot.at(-1)! + slots.at(-1)!;
  if (a.lossStride < total) throw new Error(`${op}: ${total} slots per model do not fit lossStride ${a.lossStride}`);
  assertBuffer(op, 'loss', a.loss, a.lossIndex + (a.models - 1) * a.lossStride + total);
  const regs: number[] = [];
  const terms = a.terms.map((t, i) => {
    const list = typeof t.reg === 'number' ? new Array<number>(a.models).fill(t.reg) : [...t.reg];
    if (list.length !== a.models || !list.every(Number.isFinite))
      throw new Error(`${op}: tensor ${i} needs ${a.models} finite reg(s), got [${list.join(', ')}]`);
    assertCount(op, `perModel of tensor ${i}`, t.perModel);
    assertBuffer(op, `w of tensor ${i}`, t.w, t.perModel * a.models);
    regs.push(...list);
    return { ...t, slot: firstSlot[i]!, chunks: slots[i]!, regBase: regs.length - a.models };
  });
  const kernel = await getKernel(scope.ctx, {
    name: 'regularization',
    source: regularizationWgsl,
    entryPoint: 'losses',
    constants: { WG: wg, CHUNK: l2ChunkElements },
  });
  const regBuf = scope.createTensorBuffer(Float32Array.from(regs), `${op} strengths`);
  const buffers = [...new Set(terms.map((t) => refBuffer(t.w)))];
  return buffers.map((buffer) => {
    const mine = terms.filter((t) => refBuffer(t.w) === buffer).sort((x, y) => refOffset(x.w) - refOffset(y.w));
    const base = refOffset(mine[0]!.w);
    const end = Math.max(...mine.map((t) => refOffset(t.w) + t.perModel * a.models * 4));
    const table = new Uint32Array(mine.length * 6);
    let groups = 0;
    mine.forEach((t, i) => {
      // the fields of `Tensor` in order: start, perModel, chunks, firstGroup, slot, regBase
      table.set([(refOffset(t.w) - base) / 4, t.perModel, t.chunks, groups, t.slot, t.regBase], i * 6);
      groups += t.chunks * a.models;
    });
    const termsBuf = scope.createUniformBuffer(
      kernel,
      'terms',
      { tensors: mine.length, models: a.models, lossIndex: a.lossIndex, lossStride: a.lossStride },
      `${op} terms`,
    );
    const x = Math.min(groups, maxWorkgroupsPerDim);
    return createDispatch(
      scope,
      kernel,
      {
        w: { buffer, offset: base, size: end - base },
        loss: a.loss,
        regs: regBuf,
        table: scope.createTensorBuffer(table, `${op} tensors`),
        terms: termsBuf,
      },
      [x, Math.ceil(groups / x), 1],
      `${op} chunks=${groups}`,
    );
  });
}

/**
 * Every L2 loss term of a step: inputs [W_1..W_T], updates [loss]; `regs[t]` is W_t's strength (one per model for a
 * population); the terms take `makeL2LossSlots` slots each from lossIndex on (model k's from lossIndex + k·lossStride).
 * The gradient terms reg·W are the optimizer's (its `regs`).
 */
export const l2LossesOp: OpDef<{ regs: (number | readonly number[])[]; lossIndex: number; lossStride: number; models: number }> = {
  name: 'l2_losses',
  outputs(inputs, { regs, models }) {
    if (regs.length !== inputs.length) throw new Error(`l2_losses: ${regs.length} strengths for ${inputs.length} tensors`);
    for (const w of inputs)
      if (sizeOf(w.shape) % models !== 0)
        throw new Error(`l2_losses: ${w.name} [${w.shape.join(',')}] does not split into ${models} models`);
    return [];
  },
  encode(scope, { inputs, updates: [loss] }, node) {
    const { regs, lossIndex, lossStride, models } = node.attrs;
    const terms = inputs.map((w, i) => ({ w, perModel: sizeOf(node.inputs[i]!.shape) / models, reg: regs[i]! }));
    return createL2Losses(scope, { terms, models, loss: loss!, lossIndex, lossStride });
  },
};
