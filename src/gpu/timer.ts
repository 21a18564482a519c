// GPU timing: timestamp queries around compute passes when the adapter has them, else wall clock around onSubmittedWorkDone.
import type { GpuContext } from './device.ts';

export type TimerKind = 'timestamp-query' | 'wall-clock';

export interface TimingResult {
  kind: TimerKind;
  /** Milliseconds per repetition, one entry per repetition. */
  samples: number[];
  medianMs: number;
  minMs: number;
}

function summarize(kind: TimerKind, samples: number[]): TimingResult {
  const s = [...samples].sort((a, b) => a - b);
  return { kind, samples, medianMs: s[Math.floor(s.length / 2)] ?? NaN, minMs: s[0] ?? NaN };
}

/**
 * Time `encode` (which records into a compute pass) `reps` times after `warmup` runs; one pass per rep.
 *   const t = await timeComputePasses(gpu, (pass) => encodeDispatches(pass, list), { reps: 10 });
 *   console.log(t.kind, t.medianMs);
 */
export async function timeComputePasses(
  ctx: GpuContext,
  encode: (pass: GPUComputePassEncoder) => void,
  { reps = 10, warmup = 2, forceWallClock = false }: { reps?: number; warmup?: number; forceWallClock?: boolean } = {},
): Promise<TimingResult> {
  const { device } = ctx;
  /** One pass of `encode` in its own command buffer, submitted. */
  const submitOnce = () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
  };
  for (let i = 0; i < warmup; i++) submitOnce();
  await device.queue.onSubmittedWorkDone();
  if (!ctx.hasTimestampQuery || forceWallClock) {
    const samples: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      submitOnce();
      await device.queue.onSubmittedWorkDone();
      samples.push(performance.now() - t0);
    }
    return summarize('wall-clock', samples);
  }
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * reps });
  const resolve = device.createBuffer({ size: 16 * reps, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: 16 * reps, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder({ label: 'timed passes' });
    for (let i = 0; i < reps; i++) {
      const pass = enc.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      encode(pass);
      pass.end();
    }
    enc.resolveQuerySet(querySet, 0, 2 * reps, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * reps);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ts = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    const samples: number[] = [];
    for (let i = 0; i < reps; i++) samples.push(Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6);
    return summarize('timestamp-query', samples);
  } finally {
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
}
