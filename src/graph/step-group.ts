// Several training steps in one submit: a train plan's dispatches encoded once per step, each step's feeds, loss and hyperparameters in its own range of one buffer.
import { refSize, tensorUsage, type TensorRef } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/device.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import type { Value } from './graph.ts';
import type { Plan } from './programs.ts';

/** One value's per-step copies in one buffer: step j's `size` bytes start at j·stride (a binding offset the device allows). */
export interface StepRanges {
  buffer: GPUBuffer;
  stride: number;
  size: number;
}

/** The multi-step form of a train plan: `steps` steps in one compute pass, step j reading and writing range j of each per-step value. */
export interface StepGroup {
  steps: number;
  /** Every step's dispatches, in step order: one compute pass runs the group. */
  dispatches: Dispatch[];
  /** Each feed (the row indices) by name. */
  feeds: Record<string, StepRanges>;
  /** The loss slots of every step (the readback copies them in one piece). */
  loss: StepRanges;
  /** The update rule's hyperparameter uniform (Adam's t changes every step); null when the plan binds none. */
  hyper: StepRanges | null;
}

/**
 * The train plan `plan` as `steps` steps in one pass (built once per step count, kept with the plan): step j's copies
 * of the feeds, loss slots and `hyper` (the rule's hyperparameter buffer, where the plan binds it) live at range j of
 * one buffer each, and the nodes that touch them are encoded again per step; every other dispatch is the plan's own.
 *   const g = await stepGroupOf(gpu, plan, 8, rule.bound.get('hyper'));
 *   writeStepRanges(gpu, g.feeds.indices, rowsOfEachStep); // then submit g.dispatches and copy g.loss back
 */
export function stepGroupOf(gpu: GpuContext, plan: Plan, steps: number, hyper: TensorRef | undefined): Promise<StepGroup> {
  let g = plan.groups.get(steps);
  if (!g) {
    g = buildGroup(gpu, plan, steps, hyper);
    plan.groups.set(steps, g);
    g.catch(() => plan.groups.delete(steps));
  }
  return g;
}

async function buildGroup(gpu: GpuContext, plan: Plan, steps: number, hyper: TensorRef | undefined): Promise<StepGroup> {
  const { limits } = gpu.device;
  const { program, scope } = plan;
  if (!program.loss || !plan.loss) throw new Error('step group: the plan has no loss (only a train plan runs as several steps)');
  const ranges = (size: number, align: number, usage: number, label: string): StepRanges => {
    const stride = Math.ceil(size / align) * align;
    return { buffer: scope.createTensorBuffer((steps - 1) * stride + size, `${label} x${steps} steps`, usage), stride, size };
  };
  const perStep = new Map<Value, StepRanges>();
  const feeds: Record<string, StepRanges> = {};
  for (const [name, v] of Object.entries(program.feeds)) {
    feeds[name] = ranges(plan.feeds[name]!.size, limits.minStorageBufferOffsetAlignment, tensorUsage(), `feed ${name}`);
    perStep.set(v, feeds[name]);
  }
  const loss = ranges(plan.loss.size, limits.minStorageBufferOffsetAlignment, tensorUsage(), 'loss slots');
  perStep.set(program.loss, loss);
  const hyperValues = hyper ? program.graph.values.filter((v) => v.kind === 'state' && plan.bufferOf(v) === hyper) : [];
  const hyperRanges = hyperValues.length
    ? ranges(refSize(hyper!), limits.minUniformBufferOffsetAlignment, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'hyper')
    : null;
  for (const v of hyperValues) perStep.set(v, hyperRanges!);
  const lists = await Promise.all(
    Array.from({ length: steps }, (_, j) => {
      const at = new Map<Value, TensorRef>();
      for (const [v, r] of perStep) at.set(v, { buffer: r.buffer, offset: j * r.stride, size: r.size });
      return plan.rebind(at);
    }),
  );
  return { steps, dispatches: lists.flat(), feeds, loss, hyper: hyperRanges };
}

/**
 * Write each step's values into its range of `r` in one queue.writeBuffer (the gaps between ranges are left as they are).
 *   writeStepRanges(gpu, group.feeds.indices, [rows0, rows1]); // rows1 lands at group.feeds.indices.stride
 *   writeStepRanges(gpu, group.hyper!, state.beginSteps(2));
 */
export function writeStepRanges(gpu: GpuContext, r: StepRanges, values: readonly ArrayBufferView[]): void {
  const bytes = new Uint8Array((values.length - 1) * r.stride + r.size);
  values.forEach((v, j) => {
    if (v.byteLength > r.size) throw new Error(`writeStepRanges: step ${j} has ${v.byteLength} bytes for a range of ${r.size}`);
    bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), j * r.stride);
  });
  gpu.device.queue.writeBuffer(r.buffer, 0, bytes);
}
