// The per-dispatch profiler (each dispatch timed in its own compute pass) and the adapter's copy-bandwidth roof.
import copyProbeWgsl from '../../shaders/copy-probe.wgsl?raw';
import { createScope } from './buffers.ts';
import type { GpuContext } from './device.ts';
import { createDispatch, encodeDispatches, gridFor, type Dispatch } from './dispatch.ts';
import { getKernel } from './kernel.ts';
import type { TimerKind } from './timer.ts';

/** One dispatch's time: the median over the reps of its own pass. */
export interface DispatchProfile {
  label: string;
  medianMs: number;
  /** Milliseconds per repetition. */
  samples: number[];
}

export interface DispatchProfileResult {
  /** 'timestamp-query': GPU time between a pass's begin and end; 'wall-clock': submit to onSubmittedWorkDone per dispatch. */
  kind: TimerKind;
  /** One entry per dispatch, in order. */
  dispatches: DispatchProfile[];
  /** Sum of the medians. */
  totalMs: number;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Encode dispatch `k` of `list` alone in a pass, with the pass's begin/end timestamps written where asked. */
function encodeOne(enc: GPUCommandEncoder, d: Dispatch, timestampWrites?: GPUComputePassTimestampWrites): void {
  const pass = enc.beginComputePass({ label: d.label, timestampWrites });
  encodeDispatches(pass, [d]);
  pass.end();
}

/**
 * Time each dispatch of `list` in its own compute pass, `reps` times after `warmup` runs of the whole list (in order,
 * so each sees its inputs): timestamp queries where the device has `timestamp-query` (one query set, 2 per
 * dispatch, resolved per rep into one buffer read once), else wall clock around each dispatch (kind 'wall-clock').
 *   const p = await profileDispatches(gpu, backward, { reps: 10 });
 *   p.dispatches.map((x) => `${x.label}: ${x.medianMs} ms`);
 */
export async function profileDispatches(
  ctx: GpuContext,
  list: readonly Dispatch[],
  { reps = 10, warmup = 2, forceWallClock = false }: { reps?: number; warmup?: number; forceWallClock?: boolean } = {},
): Promise<DispatchProfileResult> {
  if (list.length === 0) throw new Error('profileDispatches: no dispatches to time');
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`profileDispatches: reps must be a positive integer, got ${reps}`);
  if (2 * list.length > 4096) throw new Error(`profileDispatches: ${list.length} dispatches need more than 4096 timestamp queries`);
  const { device } = ctx;
  for (let i = 0; i < warmup; i++) {
    const enc = device.createCommandEncoder({ label: 'profile warm-up' });
    for (const d of list) encodeOne(enc, d);
    device.queue.submit([enc.finish()]);
  }
  await device.queue.onSubmittedWorkDone();
  const samples: number[][] = list.map(() => []);
  const done = (kind: TimerKind): DispatchProfileResult => {
    const dispatches = list.map((d, k) => ({ label: d.label, medianMs: median(samples[k]!), samples: samples[k]! }));
    return { kind, dispatches, totalMs: dispatches.reduce((s, x) => s + x.medianMs, 0) };
  };
  if (!ctx.hasTimestampQuery || forceWallClock) {
    for (let r = 0; r < reps; r++) {
      for (const [k, d] of list.entries()) {
        const t0 = performance.now();
        const enc = device.createCommandEncoder({ label: d.label });
        encodeOne(enc, d);
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
        samples[k]!.push(performance.now() - t0);
      }
    }
    return done('wall-clock');
  }
  const count = 2 * list.length;
  const querySet = device.createQuerySet({ type: 'timestamp', count });
  const stride = Math.ceil((8 * count) / 256) * 256; // resolveQuerySet's destination offset is a multiple of 256
  const size = stride * reps;
  const resolve = device.createBuffer({ size, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    for (let r = 0; r < reps; r++) {
      const enc = device.createCommandEncoder({ label: 'profiled dispatches' });
      for (const [k, d] of list.entries())
        encodeOne(enc, d, { querySet, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 });
      enc.resolveQuerySet(querySet, 0, count, resolve, stride * r);
      device.queue.submit([enc.finish()]);
    }
    const enc = device.createCommandEncoder({ label: 'profile readback' });
    enc.copyBufferToBuffer(resolve, 0, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ts = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (let r = 0; r < reps; r++)
      for (let k = 0; k < list.length; k++) {
        const at = (stride / 8) * r + 2 * k;
        samples[k]!.push(Number(ts[at + 1]! - ts[at]!) / 1e6);
      }
    return done('timestamp-query');
  } finally {
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
}

/** The adapter's copy bandwidth: a vec4 copy kernel and copyBufferToBuffer, each moving 2 * bytes per run. */
export interface CopyBandwidth {
  bytes: number;
  kind: TimerKind;
  /** 2 * bytes / the copy kernel's best time over the reps, in GB/s (1e9 bytes per second). */
  kernelGbps: number;
  kernelMs: number;
  /** 2 * bytes / copyBufferToBuffer's best time (wall clock, submit to onSubmittedWorkDone). */
  copyBufferGbps: number;
  copyBufferMs: number;
}

/**
 * Measure the copy roof: `bytes` (a multiple of 16, within maxStorageBufferBindingSize) copied by the vec4 kernel of
 * shaders/copy-probe.wgsl in a timed pass, and by `copyBufferToBuffer` (wall clock, queue-drained), best of `reps`.
 *   const roof = await measureCopyBandwidth(gpu, { bytes: 32 << 20, reps: 10 });
 *   console.log(`${roof.kernelGbps.toFixed(1)} GB/s`);
 */
export async function measureCopyBandwidth(
  ctx: GpuContext,
  { bytes = 32 << 20, reps = 10 }: { bytes?: number; reps?: number } = {},
): Promise<CopyBandwidth> {
  const limit = ctx.device.limits.maxStorageBufferBindingSize;
  if (!Number.isInteger(bytes) || bytes < 16 || bytes % 16 !== 0 || bytes > limit)
    throw new Error(`measureCopyBandwidth: bytes must be a multiple of 16 in [16, ${limit}] (maxStorageBufferBindingSize), got ${bytes}`);
  const scope = createScope(ctx);
  try {
    const src = scope.createTensorBuffer(bytes, 'copy probe src');
    const dst = scope.createTensorBuffer(bytes, 'copy probe dst');
    const kernel = await getKernel(ctx, { name: 'copy-probe', source: copyProbeWgsl, entryPoint: 'main' });
    const copy = createDispatch(scope, kernel, { src, dst }, gridFor(bytes / 16, 256), `copy probe ${bytes} bytes`);
    const k = await profileDispatches(ctx, [copy], { reps });
    const kernelMs = Math.min(...k.dispatches[0]!.samples); // a roof is the best the adapter did, not its typical
    const { device } = ctx;
    const wall: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      const t0 = performance.now();
      const enc = device.createCommandEncoder({ label: 'copy probe copyBufferToBuffer' });
      enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      if (r > 0) wall.push(performance.now() - t0); // the first is a warm-up
    }
    const copyBufferMs = Math.min(...wall);
    return {
      bytes,
      kind: k.kind,
      kernelMs,
      kernelGbps: (2 * bytes) / (kernelMs * 1e6),
      copyBufferMs,
      copyBufferGbps: (2 * bytes) / (copyBufferMs * 1e6),
    };
  } finally {
    scope.destroy();
  }
}
