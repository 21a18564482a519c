// Counting the WebGPU calls a training step makes and timing its host side, by patching one device's encoders (bench only).

/** The calls counted: every WebGPU call a step makes on its encoders, its queue and its readback buffers. */
export const countedCalls = [
  'createCommandEncoder',
  'beginComputePass',
  'setPipeline',
  'setBindGroup',
  'dispatchWorkgroups',
  'pushDebugGroup',
  'popDebugGroup',
  'end',
  'copyBufferToBuffer',
  'finish',
  'writeBuffer',
  'submit',
  'mapAsync',
  'getMappedRange',
  'unmap',
] as const;

export type CountedCall = (typeof countedCalls)[number];
export type ApiCounts = Record<CountedCall, number>;

const passCalls = ['setPipeline', 'setBindGroup', 'dispatchWorkgroups', 'pushDebugGroup', 'popDebugGroup', 'end'] as const;
const bufferCalls = ['mapAsync', 'getMappedRange', 'unmap'] as const;

/**
 * Zero counts for every counted call.
 *   const counts = makeApiCounts();
 *   counts.setPipeline; // 0
 */
export function makeApiCounts(): ApiCounts {
  return Object.fromEntries(countedCalls.map((c) => [c, 0])) as ApiCounts;
}

/**
 * The sum of all counted calls.
 *   totalCalls({ ...makeApiCounts(), setPipeline: 2, submit: 1 }); // 3
 *   totalCalls(makeApiCounts()); // 0
 */
export function totalCalls(counts: ApiCounts): number {
  return countedCalls.reduce((s, c) => s + counts[c], 0);
}

type Methods = Record<string, (...args: unknown[]) => unknown>;

/**
 * Replace `obj[name]` by a function that runs `before`, then the original on the same `this` (for an instance, an own
 * property; for a prototype, every instance); returns the undo, which restores the property as it was.
 */
function patch(obj: object, name: string, before: () => void, after?: () => void): () => void {
  const target = obj as Methods;
  const wasOwn = Object.hasOwn(obj, name);
  const original = target[name]!;
  target[name] = function (this: unknown, ...args: unknown[]) {
    before();
    const r = original.apply(this, args);
    after?.();
    return r;
  };
  return () => {
    if (wasOwn) target[name] = original;
    else delete target[name];
  };
}

/**
 * Count `pass`'s calls (setPipeline, setBindGroup, dispatchWorkgroups, push/popDebugGroup, end) into `counts`; returns it.
 *   const pass = countPassCalls(enc.beginComputePass(), counts);
 *   pass.setPipeline(p); counts.setPipeline; // 1
 */
export function countPassCalls<P extends object>(pass: P, counts: ApiCounts): P {
  for (const name of passCalls) patch(pass, name, () => counts[name]++);
  return pass;
}

export interface DeviceInstrumentOptions {
  /** Also count the compute pass's calls (off for the host-timing run: the wrappers cost a little each). */
  countPass: boolean;
  /** Timestamp writes for each compute pass begun (e.g. a query pair per step), or undefined for none. */
  timestampWrites?: () => GPUComputePassTimestampWrites | undefined;
  /** The prototype whose mapAsync / getMappedRange / unmap are counted (GPUBuffer.prototype); restored by `stop`. */
  bufferPrototype?: object;
}

export interface DeviceInstrument {
  counts: ApiCounts;
  /** Submits seen since the start. */
  submits: number;
  /** Host milliseconds from each submit's first call (writeBuffer or createCommandEncoder after the submit before) to its return, one per submit. */
  hostMs: number[];
  /** Undo every patch. */
  stop(): void;
}

/**
 * Patch `device` so that every command encoder, its compute passes, the queue's writeBuffer / submit and the buffers' map
 * calls are counted, and each submit's host time (from the step's first call) is summed; `stop()` undoes it.
 *   const probe = instrumentDevice(gpu.device, { countPass: true, bufferPrototype: GPUBuffer.prototype });
 *   await net.step(rows); probe.stop(); totalCalls(probe.counts) / probe.submits;
 */
export function instrumentDevice(device: GPUDevice, options: DeviceInstrumentOptions): DeviceInstrument {
  const counts = makeApiCounts();
  const state: DeviceInstrument = { counts, submits: 0, hostMs: [], stop: () => undefined };
  let windowStart: number | null = null;
  const startWindow = () => {
    windowStart ??= performance.now();
  };
  const undo: (() => void)[] = [];
  undo.push(
    patch(device.queue, 'writeBuffer', () => {
      counts.writeBuffer++;
      startWindow();
    }),
    patch(
      device.queue,
      'submit',
      () => {
        counts.submit++;
        startWindow();
      },
      () => {
        state.submits++;
        state.hostMs.push(performance.now() - windowStart!);
        windowStart = null;
      },
    ),
  );
  // each encoder made while patched gets its own counted methods, and its compute passes their timestamp writes
  const wasOwn = Object.hasOwn(device, 'createCommandEncoder');
  const create = device.createCommandEncoder;
  device.createCommandEncoder = (desc?: GPUCommandEncoderDescriptor) => {
    counts.createCommandEncoder++;
    startWindow();
    const enc = create.call(device, desc);
    patch(enc, 'copyBufferToBuffer', () => counts.copyBufferToBuffer++);
    patch(enc, 'finish', () => counts.finish++);
    const begin = enc.beginComputePass;
    enc.beginComputePass = (d?: GPUComputePassDescriptor) => {
      counts.beginComputePass++;
      const timestampWrites = options.timestampWrites?.();
      const pass = begin.call(enc, timestampWrites ? { ...d, timestampWrites } : d);
      return options.countPass ? countPassCalls(pass, counts) : pass;
    };
    return enc;
  };
  undo.push(() => {
    if (wasOwn) device.createCommandEncoder = create;
    else delete (device as Partial<GPUDevice>).createCommandEncoder;
  });
  const proto = options.bufferPrototype;
  if (proto) for (const name of bufferCalls) undo.push(patch(proto, name, () => counts[name]++));
  state.stop = () => {
    for (const u of undo.reverse()) u();
  };
  return state;
}
