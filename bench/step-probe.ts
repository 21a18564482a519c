// Where a training step's time goes: host ms to encode and submit, WebGPU calls per step, GPU ms of the step's pass (bench only).
import type { GpuContext } from '../src/index.ts';
import { instrumentDevice, makeApiCounts, totalCalls, type ApiCounts } from './api-counter.ts';

export interface StepProbe {
  /** Steps each submit held (1: one step a submit; more: GraphModel.stepMany). */
  stepsPerSubmit: number;
  /** Host ms per step from its submit's first WebGPU call (a feed's writeBuffer) to the submit's return (JS plus Dawn calls), median over the submits, divided by the steps of one. */
  hostMsPerStep: number;
  /** Every WebGPU call per step (encoders, pass, queue, readback map), amortized over the submits. */
  apiCallsPerStep: number;
  /** The same, call by call (per step). */
  callsPerStep: ApiCounts;
  /** GPU ms per step between timestamps at the start and end of its submit's compute pass, divided by its steps (null without `timestamp-query`). */
  gpuMsPerStep: number | null;
}

/**
 * Run `submits` submits (of `stepsPerSubmit` steps each) three times over: host time (only the encoder and queue
 * patched), the calls (every call counted) and the GPU time of each submit's pass (timestamp writes, where the device
 * has them); each run waits for its losses. Every figure is per step.
 *   const p = await probeSteps(gpu, (i) => net.step(rows[i]!), 10);
 *   const q = await probeSteps(gpu, (i) => net.stepMany(rows.slice(8 * i, 8 * i + 8)), 10, 8); // q.apiCallsPerStep < p.apiCallsPerStep
 */
export async function probeSteps(
  gpu: GpuContext,
  submit: (i: number) => Promise<unknown>,
  submits: number,
  stepsPerSubmit = 1,
): Promise<StepProbe> {
  const { device } = gpu;
  const bufferPrototype = (globalThis as { GPUBuffer?: { prototype: object } }).GPUBuffer?.prototype;
  const run = async (probe: { stop(): void }) => {
    try {
      await Promise.all(Array.from({ length: submits }, (_, i) => submit(i)));
    } finally {
      probe.stop();
    }
  };
  const timing = instrumentDevice(device, { countPass: false });
  await run(timing);
  if (timing.submits !== submits) throw new Error(`probeSteps: ${timing.submits} submits for ${submits} submits`);
  const counting = instrumentDevice(device, { countPass: true, bufferPrototype });
  await run(counting);
  const callsPerStep = makeApiCounts();
  const perStep = counting.submits * stepsPerSubmit;
  for (const k of Object.keys(callsPerStep) as (keyof ApiCounts)[]) callsPerStep[k] = counting.counts[k] / perStep;
  return {
    stepsPerSubmit,
    hostMsPerStep: median(timing.hostMs) / stepsPerSubmit,
    apiCallsPerStep: totalCalls(counting.counts) / perStep,
    callsPerStep,
    gpuMsPerStep: gpu.hasTimestampQuery ? (await gpuMsPerStep(gpu, submit, submits)) / stepsPerSubmit : null,
  };
}

/** The median of a non-empty list (the upper one of the middle two for an even length). */
function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Median GPU ms of the submits' compute passes, from a timestamp pair written around each. */
async function gpuMsPerStep(gpu: GpuContext, submit: (i: number) => Promise<unknown>, submits: number): Promise<number> {
  const { device } = gpu;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * submits });
  const resolve = device.createBuffer({ size: 16 * submits, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: 16 * submits, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let passes = 0;
  const probe = instrumentDevice(device, {
    countPass: false,
    timestampWrites: () => {
      const i = passes++;
      return i < submits ? { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } : undefined;
    },
  });
  try {
    try {
      await Promise.all(Array.from({ length: submits }, (_, i) => submit(i)));
    } finally {
      probe.stop();
    }
    if (passes !== submits) throw new Error(`probeSteps: ${passes} compute passes for ${submits} submits (one pass per submit expected)`);
    const enc = device.createCommandEncoder({ label: 'step timestamps' });
    enc.resolveQuerySet(querySet, 0, 2 * submits, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * submits);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ts = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return median(Array.from({ length: submits }, (_, i) => Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6));
  } finally {
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
}
