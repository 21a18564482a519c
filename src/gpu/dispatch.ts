// Dispatch records (pipeline + bind group + grid, made once) and running a list of them in one submit.
import { assertNotLost, type GpuContext } from './device.ts';
import { rememberEncoding } from './error-trace.ts';
import { createBindGroup, type Kernel } from './kernel.ts';
import type { GpuScope, TensorRef } from './buffers.ts';

/** One recorded kernel launch; built when a model is built, replayed every step. */
export interface Dispatch {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  /** Says what it computes and at which shape, for error messages and profiles. */
  label: string;
}

export const maxWorkgroupsPerDim = 65535;

/**
 * Workgroups for `n` independent items at `perWorkgroup` items each, capped at 65535 (kernels grid-stride).
 *   const wg = gridFor(1e6, 256); // [3907, 1, 1]
 *   pass.dispatchWorkgroups(...wg);
 */
export function gridFor(n: number, perWorkgroup: number): [number, number, number] {
  return [Math.min(maxWorkgroupsPerDim, Math.max(1, Math.ceil(n / perWorkgroup))), 1, 1];
}

/**
 * Throws when a grid has more workgroups in a dimension than the device allows (maxComputeWorkgroupsPerDimension,
 * 65535 unless more was asked), or a count that is not a whole number, naming the op; a kernel whose grid grows with
 * its data grid-strides (gridFor caps at 65535) or is refused here, when it is built, not by the device at launch.
 *   checkWorkgroups(device.limits, 'softmax models=70000', [70000, 1, 1]);
 *   // Error: softmax models=70000: 70000 workgroups in x > maxComputeWorkgroupsPerDimension 65535
 */
export function checkWorkgroups(
  limits: Pick<GPUSupportedLimits, 'maxComputeWorkgroupsPerDimension'>,
  label: string,
  workgroups: readonly number[],
): void {
  const most = limits.maxComputeWorkgroupsPerDimension;
  workgroups.forEach((n, i) => {
    const axis = 'xyz'[i];
    if (!Number.isInteger(n) || n < 0) throw new Error(`${label}: ${n} workgroups in ${axis} is not a whole number`);
    if (n > most) throw new Error(`${label}: ${n} workgroups in ${axis} > maxComputeWorkgroupsPerDimension ${most}`);
  });
}

/**
 * A dispatch record: `kernel` with its buffers bound by WGSL name, launched over `workgroups` (checked against the
 * device's limit first, see checkWorkgroups).
 *   const d = createDispatch(scope, kernel, { x, out, params }, gridFor(n, 256), 'relu n=1000');
 *   await runDispatches(gpu, [d]);
 */
export function createDispatch(
  scope: GpuScope,
  kernel: Kernel,
  resources: Record<string, TensorRef>,
  workgroups: [number, number, number],
  label: string,
): Dispatch {
  checkWorkgroups(scope.ctx.device.limits, label, workgroups);
  return { kernel, bindGroup: createBindGroup(scope.ctx, kernel, resources), workgroups, label };
}

/**
 * Record dispatches into an open compute pass (WebGPU orders storage writes between dispatches). A pipeline or bind
 * group already set by the dispatch before is not set again. With `debugGroups` each dispatch sits in a debug group
 * named by its label, so a validation error quotes it (submitDispatches uses them in debug mode and to trace an error).
 *   const pass = encoder.beginComputePass();
 *   encodeDispatches(pass, model.forward); pass.end();
 */
export function encodeDispatches(pass: GPUComputePassEncoder, list: readonly Dispatch[], { debugGroups = false } = {}): void {
  let pipeline: GPUComputePipeline | null = null;
  let bindGroup: GPUBindGroup | null = null;
  for (const d of list) {
    if (debugGroups) pass.pushDebugGroup(d.label);
    if (d.kernel.pipeline !== pipeline) pass.setPipeline((pipeline = d.kernel.pipeline));
    if (d.bindGroup !== bindGroup) pass.setBindGroup(0, (bindGroup = d.bindGroup));
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    if (debugGroups) pass.popDebugGroup();
  }
}

/**
 * Encode dispatches in one compute pass of one command buffer (`after` may add copies behind the pass) and
 * submit it; in debug mode a validation error throws, naming the label and the dispatches. Does not wait.
 * Outside debug mode there are no debug groups: the encoder is labelled `label #n` and remembered (error-trace.ts),
 * so an uncaptured error is traced to its dispatch by re-encoding this list with them (createGpu's handler).
 *   await submitDispatches(gpu, plan.dispatches, 'train step', (enc) => enc.copyBufferToBuffer(loss, 0, slot, 0, 16));
 *   await gpu.device.queue.onSubmittedWorkDone();
 */
export async function submitDispatches(
  ctx: GpuContext,
  list: readonly Dispatch[],
  label = 'run',
  after?: (enc: GPUCommandEncoder) => void,
): Promise<void> {
  assertNotLost(ctx);
  const { device } = ctx;
  if (ctx.debug) device.pushErrorScope('validation');
  const enc = device.createCommandEncoder({
    label: ctx.debug ? label : rememberEncoding(device, label, (p) => encodeDispatches(p, list, { debugGroups: true })),
  });
  const pass = enc.beginComputePass({ label });
  encodeDispatches(pass, list, { debugGroups: ctx.debug });
  pass.end();
  after?.(enc);
  device.queue.submit([enc.finish()]);
  if (ctx.debug) {
    const err = await device.popErrorScope();
    if (err) throw new Error(`${label}: ${err.message} (dispatches: ${list.map((d) => d.label).join('; ')})`);
  }
}

/**
 * Run dispatches in one command buffer and wait for them; in debug mode a validation error throws.
 *   await runDispatches(gpu, [relu], 'relu forward');
 *   const y = await readF32(gpu, yBuf, n);
 */
export async function runDispatches(ctx: GpuContext, list: readonly Dispatch[], label = 'run'): Promise<void> {
  await submitDispatches(ctx, list, label);
  await ctx.device.queue.onSubmittedWorkDone();
  assertNotLost(ctx);
}
