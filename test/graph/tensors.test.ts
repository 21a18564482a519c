// The tensor part of a compiled model in Node without a GPU: atomic setParams, loadSafetensors' missing tensors, a population's stored-width view, rule values bound by name.
import { describe, expect, it } from 'vitest';
import type { TensorRef } from '../../src/gpu/buffers.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { ModelDefinition, ProgramGraph } from '../../src/graph/model-definition.ts';
import { bindProgram } from '../../src/graph/programs.ts';
import { encodeSafetensors } from '../../src/graph/safetensors.ts';
import { createModelTensors } from '../../src/graph/tensors.ts';
import { makeStoredWidthView } from '../../src/nn/population.ts';
import { makeFakeScope, type FakeBuffer } from './fake-gpu.ts';

/** A fake scope whose device queue writes into the fake buffers (f32 offsets = bytes / 4), counting the writes. */
function writableScope() {
  const scope = makeFakeScope();
  const writes: string[] = [];
  const writeBuffer = (buf: FakeBuffer, offset: number, data: Float32Array) => {
    writes.push(buf.label);
    buf.data.set(data, offset / 4);
  };
  (scope as { ctx: unknown }).ctx = { device: { queue: { writeBuffer } } };
  return { scope, writes };
}

/** A model of W1 [2, 3], b1 [3] and one state tensor runningMean1 [3], all starting at zero. */
function definition(extra: Partial<ModelDefinition> = {}): ModelDefinition {
  return {
    name: 'Tiny',
    params: [
      { name: 'W1', shape: [2, 3], data: new Float32Array(6) },
      { name: 'b1', shape: [3], data: new Float32Array(3) },
    ],
    state: [{ name: 'runningMean1', shape: [3], data: new Float32Array(3) }],
    ...extra,
  } as ModelDefinition;
}

const bufferOf = (store: { buffer: GPUBuffer }) => store.buffer as unknown as FakeBuffer;
const valuesOf = (store: { buffer: GPUBuffer; layout: { entries: Record<string, { offset: number; count: number }> } }, name: string) => {
  const e = store.layout.entries[name]!;
  return [...bufferOf(store).data.subarray(e.offset / 4, e.offset / 4 + e.count)];
};

describe('model tensors', () => {
  it('setParams checks every entry before writing any: a bad name, length or shape leaves every store as it was', () => {
    const { scope, writes } = writableScope();
    const t = createModelTensors(scope, definition());
    writes.length = 0; // the initial values
    const W1 = { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] };
    expect(() => t.write({ W1, b1: { data: [1, 2] } })).toThrow('setParams: b1 has 2 values, expected 3 (shape [3])');
    expect(() => t.write({ W1, b1: { data: [1, 2, 3], shape: [1, 3] } })).toThrow('setParams: b1 has shape [1,3], this Tiny has [3]');
    expect(() => t.write({ W1, W9: { data: [1] } })).toThrow('setParams: no tensor named W9 (have W1, b1, runningMean1)');
    expect(writes).toEqual([]);
    expect(valuesOf(t.params, 'W1')).toEqual([0, 0, 0, 0, 0, 0]);

    t.write({ W1, runningMean1: { data: [7, 8, 9] } });
    expect(valuesOf(t.params, 'W1')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(valuesOf(t.params, 'b1')).toEqual([0, 0, 0]);
    expect(valuesOf(t.state, 'runningMean1')).toEqual([7, 8, 9]);
  });

  it('loadSafetensors: a tensor missing from the file is an error naming it unless partial; a bad tensor anywhere writes nothing', () => {
    const { scope, writes } = writableScope();
    const t = createModelTensors(scope, definition());
    writes.length = 0; // the initial values
    const W1 = { data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] };
    const weightsOnly = encodeSafetensors({ W1, b1: { data: Float32Array.of(-1, -2, -3), shape: [3] } });
    expect(() => t.load(weightsOnly)).toThrow(/lacks runningMean1 of this Tiny.*partial: true/);
    expect(writes).toEqual([]);

    const badB1 = encodeSafetensors({ W1, b1: { data: Float32Array.of(1, 2), shape: [2] } });
    expect(() => t.load(badB1, { partial: true })).toThrow('loadSafetensors: b1 has 2 values, expected 3');
    expect(writes).toEqual([]);
    expect(valuesOf(t.params, 'W1')).toEqual([0, 0, 0, 0, 0, 0]);

    t.load(weightsOnly, { partial: true });
    expect(valuesOf(t.params, 'W1')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(valuesOf(t.params, 'b1')).toEqual([-1, -2, -3]);
    expect(valuesOf(t.state, 'runningMean1')).toEqual([0, 0, 0]); // kept
  });

  it("a population's view: the real widths outside, the stored (rounded-up) ones in the store, zeros in the padding", () => {
    // two models; one model's W1 is [2, 3] really, stored [2, 4]; b1 [3] stored [4]
    const view = makeStoredWidthView({ W1: [2, 3], b1: [3] }, { W1: [2, 4], b1: [4] }, 2);
    const { scope } = writableScope();
    const t = createModelTensors(scope, {
      name: 'Pop',
      params: [
        { name: 'W1', shape: [2, 2, 4], data: new Float32Array(16) },
        { name: 'b1', shape: [8], data: new Float32Array(8) },
      ],
      state: [],
      view,
    } as unknown as ModelDefinition);
    expect(t.shapes).toEqual({ W1: [2, 2, 3], b1: [6] });
    t.write({ b1: { data: [1, 2, 3, 4, 5, 6], shape: [6] }, W1: { data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] } });
    expect(valuesOf(t.params, 'b1')).toEqual([1, 2, 3, 0, 4, 5, 6, 0]);
    expect(valuesOf(t.params, 'W1')).toEqual([1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 10, 11, 12, 0]);
    expect(() => t.write({ b1: { data: [1, 2, 3, 4, 5, 6, 7, 8] } })).toThrow('setParams: b1 has 8 values, expected 6 (shape [6])');
    const back = t.viewOf({ b1: Float32Array.of(1, 2, 3, 0, 4, 5, 6, 0) });
    expect(back.b1).toEqual({ data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [6] });
  });

  it("binds the update rule's values by the names the rule lists, and names a value no one binds", () => {
    const { scope } = writableScope();
    const t = createModelTensors(scope, definition());
    const g = new Graph();
    const hyper = g.value('hyper', [4], 'state');
    const mW1 = g.value('m/W1', [2, 3], 'state');
    const program = { graph: g, feeds: {}, grads: {} } as ProgramGraph;
    const hyperBuf = scope.createTensorBuffer(16, 'hyper');
    const mRef = { buffer: scope.createTensorBuffer(64, 'm'), offset: 0, size: 24 };
    const rule = {
      rule: 'adam',
      bound: new Map<string, TensorRef>([
        ['hyper', hyperBuf],
        ['m/W1', mRef],
      ]),
    };
    const values = bindProgram('Tiny', program, scope, t, undefined, rule, {}, new Map());
    expect(values.get(hyper)).toBe(hyperBuf);
    expect(values.get(mW1)).toBe(mRef);
    g.value('v/W1', [2, 3], 'state');
    expect(() => bindProgram('Tiny', program, scope, t, undefined, rule, {}, new Map())).toThrow(
      'Tiny: value v/W1 (state) is not state of the model or of its update rule adam',
    );
    expect(() => bindProgram('Tiny', program, scope, t, undefined, null, {}, new Map())).toThrow('(no update rule set)');
  });
});
