// The host joins and cuts of a population in groups (src/nn/population-parts.ts), against hand-made arrays.
import { expect, test } from 'vitest';
import type { ModelCheckpoint } from '../../src/graph/checkpoint.ts';
import { concatFloats, joinCheckpoints, splitCheckpoint, splitValues } from '../../src/nn/population-parts.ts';

const f32 = (...v: number[]) => Float32Array.from(v);

test('concatFloats joins in order, in the kind asked for', () => {
  const out = concatFloats([Float64Array.of(1), Float64Array.of(2, 3), new Float64Array(0)], Float64Array);
  expect(out).toBeInstanceOf(Float64Array);
  expect([...out]).toEqual([1, 2, 3]);
});

test('splitValues cuts stacked tensors into groups of consecutive models, after checking every entry', () => {
  // 3 models: W [3, 1, 2] (model k's 2 values the k-th block), b [3·2]
  const values = { W: { data: [1, 2, 3, 4, 5, 6], shape: [3, 1, 2] }, b: { data: [7, 8, 9, 10, 11, 12] } };
  const shapes = { W: [3, 1, 2], b: [6] };
  const [a, b] = splitValues(values, shapes, [2, 1], 'setParams');
  expect(Array.from(a!.W!.data)).toEqual([1, 2, 3, 4]);
  expect(a!.W!.shape).toEqual([2, 1, 2]);
  expect(Array.from(a!.b!.data)).toEqual([7, 8, 9, 10]);
  expect(a!.b!.shape).toEqual([4]);
  expect(Array.from(b!.W!.data)).toEqual([5, 6]);
  expect(Array.from(b!.b!.data)).toEqual([11, 12]);
  expect(() => splitValues({ X: { data: [1] } }, shapes, [2, 1], 'setParams')).toThrow('setParams: no tensor named X (have W, b)');
  expect(() => splitValues({ b: { data: [1, 2] } }, shapes, [2, 1], 'setParams')).toThrow('setParams: b has 2 values, expected 6');
  expect(() => splitValues({ W: { data: [1, 2, 3, 4, 5, 6], shape: [3, 2, 1] } }, shapes, [2, 1], 'setParams')).toThrow(
    'W has shape [3,2,1], this population has [3,1,2]',
  );
});

test('joinCheckpoints and splitCheckpoint are inverse; a checkpoint of another size is refused', () => {
  const ckpt = (p: number[], s: number[], m: number[], t: number): ModelCheckpoint => ({
    iteration: 12,
    params: f32(...p),
    state: f32(...s),
    update: { rule: 'adam', config: { learningRate: 1e-3, t }, slots: { m: f32(...m), v: f32(...m.map((x) => -x)) } },
    bytes: 4 * (2 * p.length + s.length),
    readMs: t,
  });
  const parts = [ckpt([1, 2, 3], [4], [5, 6, 7], 3), ckpt([8, 9], [10, 11], [12, 13], 3)];
  const joined = joinCheckpoints(parts);
  expect([...joined.params]).toEqual([1, 2, 3, 8, 9]);
  expect([...joined.state]).toEqual([4, 10, 11]);
  expect([...joined.update!.slots.v!]).toEqual([-5, -6, -7, -12, -13]);
  expect(joined.update!.config).toEqual({ learningRate: 1e-3, t: 3 });
  expect(joined.bytes).toBe(parts[0]!.bytes + parts[1]!.bytes);
  const back = splitCheckpoint(
    joined,
    [
      { params: 3, state: 1 },
      { params: 2, state: 2 },
    ],
    'rebuildOn',
  );
  back.forEach((c, g) => {
    expect([...c.params]).toEqual([...parts[g]!.params]);
    expect([...c.state]).toEqual([...parts[g]!.state]);
    expect([...c.update!.slots.m!]).toEqual([...parts[g]!.update!.slots.m!]);
    expect(c.iteration).toBe(12);
  });
  expect(() => splitCheckpoint(joined, [{ params: 3, state: 1 }], 'rebuildOn')).toThrow(
    'rebuildOn: the checkpoint is not one of this population',
  );
});
