// Encoding and submitting a dispatch list (src/gpu/dispatch.ts), remembering it and tracing an uncaptured error to its dispatch (error-trace.ts, createGpu), on fakes.
import { describe, expect, it } from 'vitest';
import { checkWorkgroups, createDispatch, encodeDispatches, submitDispatches, type Dispatch } from '../../src/gpu/dispatch.ts';
import type { GpuScope } from '../../src/gpu/buffers.ts';
import { createGpu, type GpuContext } from '../../src/gpu/device.ts';
import { findEncoding, rememberEncoding } from '../../src/gpu/error-trace.ts';

/** A fake compute pass that logs each call with its arguments. */
function makeLoggingPass() {
  const log: string[] = [];
  const pass = {
    setPipeline: (p: { label: string }) => log.push(`setPipeline ${p.label}`),
    setBindGroup: (i: number, g: { label: string }) => log.push(`setBindGroup ${i} ${g.label}`),
    dispatchWorkgroups: (x: number, y: number, z: number) => log.push(`dispatch ${x} ${y} ${z}`),
    pushDebugGroup: (l: string) => log.push(`push ${l}`),
    popDebugGroup: () => log.push('pop'),
  };
  return { log, pass: pass as unknown as GPUComputePassEncoder };
}

const pipeline = (label: string) => ({ label }) as unknown as GPUComputePipeline;
const group = (label: string) => ({ label }) as unknown as GPUBindGroup;
const dispatch = (p: GPUComputePipeline, g: GPUBindGroup, x: number, label: string): Dispatch => ({
  kernel: { pipeline: p } as Dispatch['kernel'],
  bindGroup: g,
  workgroups: [x, 1, 1],
  label,
});

// A hand-written step: matmul twice on one pipeline, a bind group reused by two dispatches in a row, a pipeline coming back.
const matmul = pipeline('matmul');
const relu = pipeline('relu');
const [g1, g2, g3] = [group('g1'), group('g2'), group('g3')];
const list = [
  dispatch(matmul, g1, 4, 'affine 1'),
  dispatch(matmul, g2, 4, 'affine 2'),
  dispatch(relu, g3, 1, 'relu a'),
  dispatch(relu, g3, 2, 'relu b'),
  dispatch(matmul, g1, 8, 'affine 1 again'),
];

describe('encodeDispatches', () => {
  it('sets a pipeline or bind group only when it differs from the one the dispatch before set', () => {
    const { log, pass } = makeLoggingPass();
    encodeDispatches(pass, list);
    expect(log).toEqual([
      'setPipeline matmul',
      'setBindGroup 0 g1',
      'dispatch 4 1 1',
      'setBindGroup 0 g2',
      'dispatch 4 1 1',
      'setPipeline relu',
      'setBindGroup 0 g3',
      'dispatch 1 1 1',
      'dispatch 2 1 1',
      'setPipeline matmul',
      'setBindGroup 0 g1',
      'dispatch 8 1 1',
    ]);
  });

  it('with debugGroups, wraps each dispatch in a debug group named by its label (the same cuts inside)', () => {
    const { log, pass } = makeLoggingPass();
    encodeDispatches(pass, list.slice(2, 4), { debugGroups: true });
    expect(log).toEqual([
      'push relu a',
      'setPipeline relu',
      'setBindGroup 0 g3',
      'dispatch 1 1 1',
      'pop',
      'push relu b',
      'dispatch 2 1 1',
      'pop',
    ]);
  });
});

describe('rememberEncoding / findEncoding', () => {
  it('labels each encoding uniquely and finds it from the label Dawn quotes, for the last 64 encodings of a device', () => {
    const device = {} as GPUDevice;
    const other = {} as GPUDevice;
    const calls: number[] = [];
    const labels = Array.from({ length: 70 }, (_, i) => rememberEncoding(device, 'train step', () => calls.push(i)));
    expect(labels.slice(0, 2)).toEqual(['train step #1', 'train step #2']);
    findEncoding(device, `Dispatch workgroup count (65536) exceeds the maximum.\n - While finishing [CommandEncoder "train step #70"].`)!(
      {} as GPUComputePassEncoder,
    );
    findEncoding(device, '[Invalid CommandBuffer from CommandEncoder "train step #7"] is invalid.')!({} as GPUComputePassEncoder);
    expect(calls).toEqual([69, 6]);
    expect(findEncoding(device, '[CommandEncoder "train step #6"]')).toBeNull(); // dropped: more than 64 encodings ago
    expect(findEncoding(device, 'Buffer "x" used in submit while destroyed.')).toBeNull();
    expect(findEncoding(other, '[CommandEncoder "train step #70"]')).toBeNull();
  });
});

describe('submitDispatches', () => {
  /** A fake context whose device logs encoder labels, scopes and submits, and whose passes log their calls. */
  function makeFakeContext(debug: boolean) {
    const { log, pass } = makeLoggingPass();
    const device = {
      pushErrorScope: (f: string) => log.push(`pushErrorScope ${f}`),
      popErrorScope: () => (log.push('popErrorScope'), Promise.resolve(null)),
      createCommandEncoder: (d: { label: string }) => {
        log.push(`encoder ${d.label}`);
        return { beginComputePass: () => ({ ...pass, end: () => log.push('end') }), finish: () => 'cb' };
      },
      queue: { submit: (b: unknown[]) => log.push(`submit ${b.length}`) },
    };
    return { log, device, ctx: { device, debug, lostInfo: null } as unknown as GpuContext };
  }

  it('outside debug mode: no debug groups, no error scope, the encoder labelled `label #n` and remembered for a trace', async () => {
    const { log, device, ctx } = makeFakeContext(false);
    await submitDispatches(ctx, list.slice(2, 4), 'train step');
    await submitDispatches(ctx, list.slice(2, 4), 'train step');
    expect(log).toEqual([
      'encoder train step #1',
      'setPipeline relu',
      'setBindGroup 0 g3',
      'dispatch 1 1 1',
      'dispatch 2 1 1',
      'end',
      'submit 1',
      'encoder train step #2',
      'setPipeline relu',
      'setBindGroup 0 g3',
      'dispatch 1 1 1',
      'dispatch 2 1 1',
      'end',
      'submit 1',
    ]);
    // the remembered encoding re-encodes the same list with a debug group per dispatch
    const again = makeLoggingPass();
    findEncoding(device as unknown as GPUDevice, 'While finishing [CommandEncoder "train step #2"].')!(again.pass);
    expect(again.log).toEqual([
      'push relu a',
      'setPipeline relu',
      'setBindGroup 0 g3',
      'dispatch 1 1 1',
      'pop',
      'push relu b',
      'dispatch 2 1 1',
      'pop',
    ]);
  });

  it('in debug mode: each dispatch in its debug group, inside a validation error scope, the label as given', async () => {
    const { log, ctx } = makeFakeContext(true);
    await submitDispatches(ctx, list.slice(2, 3), 'accuracy');
    expect(log).toEqual([
      'pushErrorScope validation',
      'encoder accuracy',
      'push relu a',
      'setPipeline relu',
      'setBindGroup 0 g3',
      'dispatch 1 1 1',
      'pop',
      'end',
      'submit 1',
      'popErrorScope',
    ]);
  });
});

describe("createGpu's uncaptured-error handler", () => {
  class FakeValidationError {
    constructor(readonly message: string) {}
  }
  /** A fake device: an event target whose re-encoding in an error scope fails, quoting the first dispatch's debug group. */
  function makeFakeDevice() {
    let scope: string[] | null = null;
    const device = Object.assign(new EventTarget(), {
      features: new Set<string>(),
      lost: new Promise(() => undefined),
      createBuffer: () => ({ destroy: () => undefined }),
      createBindGroup: () => ({}),
      createComputePipeline: () => ({}),
      createComputePipelineAsync: () => Promise.resolve({}),
      queue: { submit: () => undefined },
      pushErrorScope: () => (scope = []),
      popErrorScope: () => {
        const groups = scope!;
        scope = null;
        const m = groups.length
          ? `Dispatch workgroup count X (65536) exceeds the maximum.\n Debug group stack:\n > "${groups[0]}"\n`
          : null;
        return Promise.resolve(m && new FakeValidationError(m));
      },
      createCommandEncoder: () => ({
        beginComputePass: () => ({
          pushDebugGroup: (l: string) => scope?.push(l),
          popDebugGroup: () => undefined,
          setPipeline: () => undefined,
          setBindGroup: () => undefined,
          dispatchWorkgroups: () => undefined,
          end: () => undefined,
        }),
        finish: () => 'cb',
      }),
    });
    const raise = (message: string) =>
      device.dispatchEvent(Object.assign(new Event('uncapturederror'), { error: new FakeValidationError(message) }));
    return { device: device as unknown as GPUDevice, raise };
  }

  it('names the dispatch of an error without a debug-group stack by re-encoding its list, keeping the errors in order', async () => {
    const { device, raise } = makeFakeDevice();
    const gpu = createGpu(device);
    const heard: (string | null)[] = [];
    gpu.onError((e) => heard.push(e.kernel));
    await submitDispatches(gpu, list.slice(2, 4), 'train step');
    raise('Dispatch workgroup count X (65536) exceeds the maximum.\n - While finishing [CommandEncoder "train step #1"].\n');
    raise('Buffer "x" used in submit while destroyed.'); // names no encoding: no trace, but it waits for the one before
    expect(gpu.errors).toEqual([]); // the trace is under way
    await new Promise((r) => setTimeout(r, 0));
    expect(gpu.errors.map((e) => [e.kind, e.kernel])).toEqual([
      ['validation', 'relu a'],
      ['validation', null],
    ]);
    expect(heard).toEqual(['relu a', null]);
    raise('Out of range.\n Debug group stack:\n > "affine 1"\n'); // a stack already there (debug mode): named at once
    expect(gpu.errors[2]!.kernel).toBe('affine 1');
  });
});

describe('workgroup counts against the device limit', () => {
  const limits = { maxComputeWorkgroupsPerDimension: 65535 };
  it('names the op, the axis, the count and the limit; 65535 itself and 0 are allowed', () => {
    expect(() => checkWorkgroups(limits, 'softmax models=70000', [70000, 1, 1])).toThrow(
      'softmax models=70000: 70000 workgroups in x > maxComputeWorkgroupsPerDimension 65535',
    );
    expect(() => checkWorkgroups(limits, 'accuracy', [1, 65536, 1])).toThrow(
      'accuracy: 65536 workgroups in y > maxComputeWorkgroupsPerDimension',
    );
    expect(() => checkWorkgroups(limits, 'matmul', [1, 1, 2.5])).toThrow('matmul: 2.5 workgroups in z is not a whole number');
    expect(() => checkWorkgroups(limits, 'ok', [65535, 65535, 0])).not.toThrow();
    // a device granted more (requiredLimits) takes more
    expect(() => checkWorkgroups({ maxComputeWorkgroupsPerDimension: 100000 }, 'big', [70000, 1, 1])).not.toThrow();
  });
  it('createDispatch refuses the grid before it makes a bind group', () => {
    let bindGroups = 0;
    const device = { limits, createBindGroup: () => (bindGroups++, {}) };
    const scope = { ctx: { device } } as unknown as GpuScope;
    const kernel = { pipeline: pipeline('p') } as unknown as Dispatch['kernel'];
    expect(() => createDispatch(scope, kernel, {}, [70000, 1, 1], 'regularization models=70000')).toThrow(
      'regularization models=70000: 70000 workgroups in x > maxComputeWorkgroupsPerDimension 65535',
    );
    expect(bindGroups).toBe(0);
  });
});
