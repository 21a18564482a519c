// Encoding a dispatch list (src/gpu/dispatch.ts encodeDispatches) and remembering it for error tracing (src/gpu/error-trace.ts), on fake encoders.
import { describe, expect, it } from 'vitest';
import { encodeDispatches, type Dispatch } from '../../src/gpu/dispatch.ts';
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
