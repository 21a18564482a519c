// A GPU stand-in for engine tests in Node: fake buffers, a scope that makes them, and CPU test ops whose encode records closures.
import type { GpuScope } from '../../src/gpu/buffers.ts';
import type { Dispatch } from '../../src/gpu/dispatch.ts';
import { sizeOf, type OpDef } from '../../src/graph/graph.ts';

/** A fake GPU buffer: an id, a size and float64 contents the recorded dispatches read and write. */
export interface FakeBuffer {
  id: number;
  size: number;
  label: string;
  data: Float64Array;
}

/** What a test op's encode records instead of a pipeline launch: a label and what it does to the buffers. */
export interface FakeDispatch {
  label: string;
  run(): void;
  reads: FakeBuffer[];
  writes: FakeBuffer[];
}

/**
 * A scope whose tensor buffers are FakeBuffers (counted in `created`); no device behind it.
 *   const scope = makeFakeScope();
 *   const b = scope.createTensorBuffer(16, 'x') as unknown as FakeBuffer; // b.data.length === 4
 */
export function makeFakeScope(): GpuScope & { created: FakeBuffer[] } {
  const created: FakeBuffer[] = [];
  const scope = {
    ctx: null as never,
    buffers: [],
    created,
    createTensorBuffer(data: number | (ArrayLike<number> & { byteLength: number }), label: string) {
      const size = typeof data === 'number' ? data : data.byteLength;
      const b: FakeBuffer = { id: created.length, size, label, data: new Float64Array(Math.ceil(size / 4)) };
      if (typeof data !== 'number') b.data.set(Array.from(data));
      created.push(b);
      return b as unknown as GPUBuffer;
    },
    createUniformBuffer() {
      throw new Error('fake scope: no uniforms');
    },
    destroy() {},
  };
  return scope as unknown as GpuScope & { created: FakeBuffer[] };
}

/** Run recorded fake dispatches in order (what a submit would do). */
export function runFake(list: readonly Dispatch[]): void {
  for (const d of list as unknown as FakeDispatch[]) d.run();
}

const fb = (b: unknown) => b as FakeBuffer;

/** An elementwise test op from a CPU function of its inputs, recording one fake dispatch. */
function elementwise(name: string, f: (...xs: number[]) => number, backward?: OpDef['backward']): OpDef {
  return {
    name,
    outputs(inputs) {
      return [{ name: `${name}(${inputs.map((v) => v.name).join(',')})`, shape: [...inputs[0]!.shape] }];
    },
    async encode(_scope, { inputs, outputs }, node) {
      const ins = inputs.map(fb);
      const out = fb(outputs[0]);
      const n = sizeOf(node.outputs[0]!.shape);
      const d: FakeDispatch = {
        label: `${name}#${node.id}`,
        reads: ins,
        writes: [out],
        run() {
          for (let i = 0; i < n; i++) out.data[i] = f(...ins.map((b) => b.data[i]!));
        },
      };
      return [d as unknown as Dispatch];
    },
    backward,
  };
}

/** Test ops: add, mul (with backward rules), and sum to one value whose gradient broadcasts back. */
export const testAdd: OpDef = elementwise(
  'add',
  (a, b) => a + b,
  (_g, _n, [d]) => [d!, d!],
);
export const testMul: OpDef = elementwise(
  'mul',
  (a, b) => a * b,
  (g, node, [d]) => [
    g.apply(testMul, [d!, node.inputs[1]!], {}, [], 'grad')[0]!,
    g.apply(testMul, [d!, node.inputs[0]!], {}, [], 'grad')[0]!,
  ],
);
export const testBroadcast: OpDef<{ shape: number[] }> = {
  name: 'broadcast',
  outputs([s], { shape }) {
    return [{ name: `broadcast(${s!.name})`, shape }];
  },
  async encode(_scope, { inputs: [s], outputs: [out] }, node) {
    const n = sizeOf(node.attrs.shape);
    const d: FakeDispatch = {
      label: `broadcast#${node.id}`,
      reads: [fb(s)],
      writes: [fb(out)],
      run() {
        fb(out).data.fill(fb(s).data[0]!, 0, n);
      },
    };
    return [d as unknown as Dispatch];
  },
};
export const testSum: OpDef = {
  name: 'sum',
  outputs([x]) {
    return [{ name: `sum(${x!.name})`, shape: [1] }];
  },
  async encode(_scope, { inputs: [x], outputs: [out] }, node) {
    const n = sizeOf(node.inputs[0]!.shape);
    const d: FakeDispatch = {
      label: `sum#${node.id}`,
      reads: [fb(x)],
      writes: [fb(out)],
      run() {
        let s = 0;
        for (let i = 0; i < n; i++) s += fb(x).data[i]!;
        fb(out).data[0] = s;
      },
    };
    return [d as unknown as Dispatch];
  },
  backward(g, node, [d]) {
    return [g.apply(testBroadcast, [d!], { shape: [...node.inputs[0]!.shape] }, [], 'grad')[0]!];
  },
};
