// The bench's WebGPU call counter (bench/api-counter.ts) on a fake device: exact counts, forwarding, timestamp writes, undo.
import { describe, expect, it } from 'vitest';
import { countPassCalls, instrumentDevice, makeApiCounts, totalCalls } from '../../bench/api-counter.ts';

/** A fake device whose objects log every call they receive, so forwarding can be checked call by call. */
function makeFakeDevice() {
  const log: string[] = [];
  const passes: { desc: unknown }[] = [];
  const makePass = () => ({
    setPipeline: (p: string) => log.push(`setPipeline ${p}`),
    setBindGroup: (i: number, g: string) => log.push(`setBindGroup ${i} ${g}`),
    dispatchWorkgroups: (x: number, y = 1, z = 1) => log.push(`dispatch ${x} ${y} ${z}`),
    pushDebugGroup: (l: string) => log.push(`push ${l}`),
    popDebugGroup: () => log.push('pop'),
    end: () => log.push('end'),
  });
  class FakeBuffer {
    constructor(readonly name: string) {}
    mapAsync(): Promise<void> {
      log.push(`mapAsync ${this.name}`);
      return Promise.resolve();
    }
    getMappedRange(): ArrayBuffer {
      log.push(`getMappedRange ${this.name}`);
      return new ArrayBuffer(4);
    }
    unmap(): void {
      log.push(`unmap ${this.name}`);
    }
  }
  const device = {
    queue: {
      writeBuffer: (b: string) => log.push(`writeBuffer ${b}`),
      submit: (list: unknown[]) => log.push(`submit ${list.length}`),
    },
    createCommandEncoder: (desc?: { label?: string }) => {
      log.push(`createCommandEncoder ${desc?.label ?? ''}`);
      return {
        beginComputePass: (desc?: unknown) => {
          passes.push({ desc });
          return makePass();
        },
        copyBufferToBuffer: () => log.push('copy'),
        finish: () => 'commands',
      };
    },
  };
  return { device, log, passes, FakeBuffer };
}

type FakeDevice = ReturnType<typeof makeFakeDevice>;

/** One step as a session makes it: two feeds, one pass of three dispatches (two on one pipeline), a copy, submit, a read. */
function fakeStep(device: FakeDevice['device'], buffer: InstanceType<FakeDevice['FakeBuffer']>) {
  const gpuDevice = device as unknown as GPUDevice;
  gpuDevice.queue.writeBuffer('indices' as unknown as GPUBuffer, 0, new Uint32Array(1));
  gpuDevice.queue.writeBuffer('t' as unknown as GPUBuffer, 0, new Uint32Array(1));
  const enc = gpuDevice.createCommandEncoder({ label: 'train step' });
  const pass = enc.beginComputePass({ label: 'train step' });
  for (const [p, g] of [
    ['a', 'g0'],
    ['a', 'g1'],
    ['b', 'g2'],
  ]) {
    pass.pushDebugGroup(`${p} ${g}`);
    pass.setPipeline(p as unknown as GPUComputePipeline);
    pass.setBindGroup(0, g as unknown as GPUBindGroup);
    pass.dispatchWorkgroups(2);
    pass.popDebugGroup();
  }
  pass.end();
  enc.copyBufferToBuffer('loss' as unknown as GPUBuffer, 0, 'slot' as unknown as GPUBuffer, 0, 4);
  gpuDevice.queue.submit([enc.finish()]);
  void buffer.mapAsync();
  buffer.getMappedRange();
  buffer.unmap();
}

describe('countPassCalls', () => {
  it('counts each call exactly and forwards it with its arguments', () => {
    const { device, log } = makeFakeDevice();
    const counts = makeApiCounts();
    const pass = countPassCalls((device.createCommandEncoder() as { beginComputePass(): object }).beginComputePass(), counts) as {
      setPipeline(p: string): void;
      setBindGroup(i: number, g: string): void;
      dispatchWorkgroups(x: number, y?: number, z?: number): void;
      end(): void;
    };
    pass.setPipeline('p');
    pass.setBindGroup(0, 'g');
    pass.setBindGroup(0, 'h');
    pass.dispatchWorkgroups(4, 2, 1);
    pass.end();
    expect(log.slice(1)).toEqual(['setPipeline p', 'setBindGroup 0 g', 'setBindGroup 0 h', 'dispatch 4 2 1', 'end']);
    expect(counts).toEqual({ ...makeApiCounts(), setPipeline: 1, setBindGroup: 2, dispatchWorkgroups: 1, end: 1 });
    expect(totalCalls(counts)).toBe(5);
  });
});

describe('instrumentDevice', () => {
  it('counts every call of two steps exactly (3 dispatches: 15 pass calls, 26 in all per step) and forwards them all', () => {
    const { device, log, FakeBuffer } = makeFakeDevice();
    const buffer = new FakeBuffer('ring0');
    const probe = instrumentDevice(device as unknown as GPUDevice, { countPass: true, bufferPrototype: FakeBuffer.prototype });
    fakeStep(device, buffer);
    fakeStep(device, buffer);
    probe.stop();
    // per step: createCommandEncoder, beginComputePass, 3 x (push, setPipeline, setBindGroup, dispatch, pop), end,
    // copy, finish, 2 writeBuffer, submit, mapAsync, getMappedRange, unmap = 1 + 1 + 15 + 1 + 1 + 1 + 2 + 1 + 3 = 26
    expect(probe.counts).toEqual({
      createCommandEncoder: 2,
      beginComputePass: 2,
      setPipeline: 6,
      setBindGroup: 6,
      dispatchWorkgroups: 6,
      pushDebugGroup: 6,
      popDebugGroup: 6,
      end: 2,
      copyBufferToBuffer: 2,
      finish: 2,
      writeBuffer: 4,
      submit: 2,
      mapAsync: 2,
      getMappedRange: 2,
      unmap: 2,
    });
    expect(totalCalls(probe.counts)).toBe(52);
    expect(probe.submits).toBe(2);
    expect(probe.hostMs).toHaveLength(2);
    expect(Math.min(...probe.hostMs)).toBeGreaterThanOrEqual(0);
    // forwarded in order with their arguments (the first step's log; the second is the same)
    expect(log.slice(0, 24)).toEqual([
      'writeBuffer indices',
      'writeBuffer t',
      'createCommandEncoder train step',
      ...['a g0', 'a g1', 'b g2'].flatMap((s) => {
        const [p, g] = s.split(' ');
        return [`push ${s}`, `setPipeline ${p}`, `setBindGroup 0 ${g}`, 'dispatch 2 1 1', 'pop'];
      }),
      'end',
      'copy',
      'submit 1',
      'mapAsync ring0',
      'getMappedRange ring0',
      'unmap ring0',
    ]);
  });

  it('leaves the pass unwrapped without countPass, adds timestamp writes to each pass, and stop() undoes every patch', () => {
    const { device, passes, FakeBuffer } = makeFakeDevice();
    const own = { encoder: device.createCommandEncoder, submit: device.queue.submit, write: device.queue.writeBuffer };
    const proto = { ...Object.getOwnPropertyDescriptors(FakeBuffer.prototype) };
    let i = 0;
    const probe = instrumentDevice(device as unknown as GPUDevice, {
      countPass: false,
      bufferPrototype: FakeBuffer.prototype,
      timestampWrites: () => ({
        querySet: 'q' as unknown as GPUQuerySet,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i++ + 1,
      }),
    });
    fakeStep(device, new FakeBuffer('r'));
    probe.stop();
    expect(probe.counts.setPipeline).toBe(0);
    expect(probe.counts.createCommandEncoder).toBe(1);
    expect(probe.counts.mapAsync).toBe(1);
    expect(passes[0]!.desc).toEqual({
      label: 'train step',
      timestampWrites: { querySet: 'q', beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
    expect(device.createCommandEncoder).toBe(own.encoder);
    expect(device.queue.submit).toBe(own.submit);
    expect(device.queue.writeBuffer).toBe(own.write);
    expect(Object.getOwnPropertyDescriptors(FakeBuffer.prototype)).toEqual(proto);
    fakeStep(device, new FakeBuffer('r'));
    expect(probe.counts.createCommandEncoder).toBe(1); // nothing counted after stop
    expect(passes[1]!.desc).toEqual({ label: 'train step' });
  });
});
