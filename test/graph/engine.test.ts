// The graph engine without a GPU: building and shape errors, autodiff with fan-out, the buffer planner, compile order.
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../../src/graph/graph.ts';
import { addBackward } from '../../src/graph/autodiff.ts';
import { planBuffers, plannerOwns } from '../../src/graph/planner.ts';
import { compileGraph } from '../../src/graph/executor.ts';
import { affineOp } from '../../src/ops/affine.ts';
import { addOp } from '../../src/ops/elementwise.ts';
import { batchNormOp } from '../../src/ops/batchnorm.ts';
import { softmaxLossOp } from '../../src/ops/softmax.ts';
import { makeFakeScope, runFake, testAdd, testMul, testSum, type FakeBuffer, type FakeDispatch } from './fake-gpu.ts';

describe('graph building', () => {
  it('gives each output its shape and names the op and argument on a mismatch', () => {
    const g = new Graph();
    const x = g.value('X', [7, 3, 5], 'data');
    const W = g.value('W1', [15, 4], 'param');
    const b = g.value('b1', [4], 'param');
    const [h] = g.apply(affineOp, [x, W, b]);
    expect(h!.shape).toEqual([7, 4]);
    expect(h!.producer!.op.name).toBe('affine');
    expect(() => g.apply(affineOp, [x, g.value('W2', [14, 4], 'param'), b])).toThrow('affine: W has shape [14,4], expected [15,*]');
    expect(() => g.apply(affineOp, [x, W, g.value('b2', [5], 'param')])).toThrow('affine: b has shape [5], expected [4]');
    expect(() => g.apply(addOp, [h!, x])).toThrow('add: b has shape [7,3,5], expected [7,4]');
    const gamma = g.value('gamma1', [5], 'param');
    const attrs = { mode: 'train' as const, eps: 1e-5, momentum: 0.9, variant: 'graph' as const };
    expect(() => g.apply(batchNormOp, [h!, gamma, gamma], attrs)).toThrow('batchnorm: x has shape [7,4], expected [*,5]');
    expect(() => g.apply(softmaxLossOp, [h!, g.value('y', [6], 'data', 'u32')], { lossIndex: 0 })).toThrow(
      'softmax_loss: y has shape [6], expected [7]',
    );
    expect(() => g.value('bad', [3, 0], 'data')).toThrow('graph: value bad has a bad shape [3,0]');
  });
});

/** f = sum(x*x + x*w): x is read three times (fan-out), so df/dx = 2x + w and df/dw = x. */
function fanOutGraph(n: number) {
  const g = new Graph();
  const x = g.value('x', [n], 'param');
  const w = g.value('w', [n], 'param');
  const one = g.value('one', [1], 'data');
  const [xx] = g.apply(testMul, [x, x]);
  const [xw] = g.apply(testMul, [x, w]);
  const [s] = g.apply(testAdd, [xx!, xw!]);
  const [f] = g.apply(testSum, [s!]);
  const grads = addBackward(g, new Map([[f!, one]]), [x, w], { add: testAdd });
  return { g, x, w, one, f: f!, dx: grads.get(x)!, dw: grads.get(w)! };
}

describe('autodiff', () => {
  it('accumulates the gradients of a value used by several nodes, and the compiled plan computes them', async () => {
    const n = 6;
    const { g, x, w, one, f, dx, dw } = fanOutGraph(n);
    // x feeds mul(x, x) twice and mul(x, w) once: its gradient is the sum of three contributions (two adds)
    expect(dx.producer!.op.name).toBe('add');
    expect(dx.producer!.inputs[0]!.producer!.op.name).toBe('add');
    expect(dw.producer!.op.name).toBe('mul');
    const scope = makeFakeScope();
    const ext = (v: Value, values: number[]) => [v, scope.createTensorBuffer(Float32Array.from(values), v.name)] as const;
    const xs = [0.5, -1, 2, 3, -0.25, 1.5];
    const ws = [1, 2, -3, 0.5, 4, -2];
    dx.keep = true;
    dw.keep = true;
    f.keep = true;
    const external = new Map<Value, GPUBuffer>([ext(x, xs), ext(w, ws), ext(one, [1])]);
    const c = await compileGraph(scope, g, external);
    runFake(c.dispatches);
    const read = (v: Value) => Array.from((c.bufferOf(v) as unknown as FakeBuffer).data.subarray(0, n));
    expect(read(dx)).toEqual(xs.map((xi, i) => 2 * xi + ws[i]!));
    expect(read(dw)).toEqual(xs);
    expect((c.bufferOf(f) as unknown as FakeBuffer).data[0]).toBeCloseTo(
      xs.reduce((a, xi, i) => a + xi * xi + xi * ws[i]!, 0),
      12,
    );
  });

  it('says which value no gradient reaches', () => {
    const g = new Graph();
    const x = g.value('x', [3], 'param');
    const unused = g.value('unused', [3], 'param');
    const [f] = g.apply(testSum, [x]);
    expect(() => addBackward(g, new Map([[f!, g.value('one', [1], 'data')]]), [unused], { add: testAdd })).toThrow(
      'autodiff: no gradient reaches unused',
    );
  });
});

/** [first writer, last reader] of each planner-owned value, computed here independently of the planner. */
function lifetimes(g: Graph): Map<Value, [number, number]> {
  const life = new Map<Value, [number, number]>();
  g.nodes.forEach((node, i) => {
    for (const v of node.outputs) if (plannerOwns(v, new Set())) life.set(v, [i, v.keep ? g.nodes.length : i]);
    for (const v of [...node.inputs, ...node.updates]) {
      const l = life.get(v);
      if (l && !v.keep) l[1] = Math.max(l[1], i);
    }
  });
  return life;
}

describe('buffer planner', () => {
  it('never gives two values that are live at once the same buffer, and fits each value', () => {
    const { g } = fanOutGraph(5);
    const plan = planBuffers(g);
    const life = [...lifetimes(g)];
    expect(life.length).toBeGreaterThan(8);
    for (const [v, [a0, a1]] of life) {
      expect(plan.slotBytes[plan.slotOf.get(v.id)!]!).toBeGreaterThanOrEqual(v.shape.reduce((p, q) => p * q, 1) * 4);
      for (const [u, [b0, b1]] of life) {
        if (u === v || plan.slotOf.get(u.id) !== plan.slotOf.get(v.id)) continue;
        // sharing is allowed only when one value's last read is before the other is written (a node never writes what it reads)
        expect(a1 < b0 || b1 < a0, `${v.name} [${a0},${a1}] and ${u.name} [${b0},${b1}] share slot ${plan.slotOf.get(v.id)}`).toBe(true);
      }
    }
  });

  it('reuses buffers along a chain: peak bytes are two values, three when the middle one is kept', () => {
    const chain = (keepMiddle: boolean) => {
      const g = new Graph();
      let h = g.value('x', [100], 'param');
      const vals: Value[] = [];
      for (let i = 0; i < 5; i++) {
        [h] = g.apply(testMul, [h!, h!]);
        vals.push(h!);
      }
      vals[2]!.keep = keepMiddle;
      return planBuffers(g);
    };
    const plain = chain(false);
    expect(plain.slotBytes).toEqual([400, 400]);
    expect(plain.peakBytes).toBe(800);
    expect(chain(true).peakBytes).toBe(1200);
  });

  it('leaves model-owned values (params, state, data, bound values) to the model', () => {
    const { g, x, w, one, dx } = fanOutGraph(4);
    const plan = planBuffers(g, new Set([dx]));
    for (const v of [x, w, one, dx]) expect(plan.slotOf.has(v.id)).toBe(false);
  });
});

describe('compile order', () => {
  it('encodes every node once, in the order the nodes were added, into one dispatch list', async () => {
    const { g, x, w, one } = fanOutGraph(3);
    const scope = makeFakeScope();
    const external = new Map<Value, GPUBuffer>([
      [x, scope.createTensorBuffer(12, 'x')],
      [w, scope.createTensorBuffer(12, 'w')],
      [one, scope.createTensorBuffer(4, 'one')],
    ]);
    const c = await compileGraph(scope, g, external);
    const labels = (c.dispatches as unknown as FakeDispatch[]).map((d) => d.label);
    expect(labels).toEqual(g.nodes.map((n) => `${n.op.name}#${n.id}`));
    // each node runs after the nodes that write its inputs
    g.nodes.forEach((node, i) =>
      node.inputs.forEach((v) => {
        if (v.producer) expect(v.producer.id).toBeLessThan(i);
      }),
    );
    // slots are created once, at compile time: one per planned slot, beside the three the test made
    expect(scope.created.length).toBe(3 + c.plan.slotBytes.length);
  });

  it('names the op and its input shapes when an encode fails', async () => {
    const g = new Graph();
    const x = g.value('x', [2, 3], 'param');
    g.apply(
      {
        ...testSum,
        encode: async () => {
          throw new Error('no such kernel');
        },
      },
      [x],
    );
    const scope = makeFakeScope();
    await expect(compileGraph(scope, g, new Map([[x, scope.createTensorBuffer(24, 'x')]]))).rejects.toThrow(
      'graph: encoding sum(x[2,3]) failed: no such kernel',
    );
  });
});
