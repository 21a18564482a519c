// Where a training step's time goes: host ms to encode and submit, WebGPU calls per step, GPU ms of the step's pass (bench only).
import type { GpuContext } from '../src/index.ts';
import { instrumentDevice, makeApiCounts, totalCalls, type ApiCounts } from './api-counter.ts';

export interface StepProbe {
  /** Host ms per step from its first WebGPU call (a feed's writeBuffer) to its submit's return (JS plus Dawn calls), median over the steps. */
  hostMsPerStep: number;
  /** Every WebGPU call per step (encoders, pass, queue, readback map), amortized over the submits. */
  apiCallsPerStep: number;
  /** The same, call by call (per step). */
  callsPerStep: ApiCounts;
  /** GPU ms per step between timestamps at the start and end of its compute pass (null without `timestamp-query`). */
  gpuMsPerStep: number | null;
}

/**
 * Run `steps` steps three times over: host time (only the encoder and queue patched), the calls (every call counted)
 * and the GPU time of each step's pass (timestamp writes, where the device has them); each run waits for its losses.
 *   const p = await probeSteps(gpu, (i) => net.step(rows[i]!), 10);
 *   p.apiCallsPerStep; // 199
 */
export async function probeSteps(gpu: GpuContext, step: (i: number) => Promise<unknown>, steps: number): Promise<StepProbe> {
  const { device } = gpu;
  const bufferPrototype = (globalThis as { GPUBuffer?: { prototype: object } }).GPUBuffer?.prototype;
  const run = async (probe: { stop(): void }) => {
    try {
      await Promise.all(Array.from({ length: steps }, (_, i) => step(i)));
    } finally {
      probe.stop();
    }
  };
  const timing = instrumentDevice(device, { countPass: false });
  await run(timing);
  if (timing.submits !== steps) throw new Error(`probeSteps: ${timing.submits} submits for ${steps} steps`);
  const counting = instrumentDevice(device, { countPass: true, bufferPrototype });
  await run(counting);
  const callsPerStep = makeApiCounts();
  for (const k of Object.keys(callsPerStep) as (keyof ApiCounts)[]) callsPerStep[k] = counting.counts[k] / counting.submits;
  return {
    hostMsPerStep: median(timing.hostMs),
    apiCallsPerStep: totalCalls(counting.counts) / counting.submits,
    callsPerStep,
    gpuMsPerStep: gpu.hasTimestampQuery ? await gpuMsPerStep(gpu, step, steps) : null,
  };
}

/** The median of a non-empty list (the upper one of the middle two for an even length). */
function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Median GPU ms of the steps' compute passes, from a timestamp pair written around each. */
async function gpuMsPerStep(gpu: GpuContext, step: (i: number) => Promise<unknown>, steps: number): Promise<number> {
  const { device } = gpu;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * steps });
  const resolve = device.createBuffer({ size: 16 * steps, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: 16 * steps, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let passes = 0;
  const probe = instrumentDevice(device, {
    countPass: false,
    timestampWrites: () => {
      const i = passes++;
      return i < steps ? { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } : undefined;
    },
  });
  try {
    try {
      await Promise.all(Array.from({ length: steps }, (_, i) => step(i)));
    } finally {
      probe.stop();
    }
    if (passes !== steps) throw new Error(`probeSteps: ${passes} compute passes for ${steps} steps (one pass per step expected)`);
    const enc = device.createCommandEncoder({ label: 'step timestamps' });
    enc.resolveQuerySet(querySet, 0, 2 * steps, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * steps);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ts = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return median(Array.from({ length: steps }, (_, i) => Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6));
  } finally {
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
}
