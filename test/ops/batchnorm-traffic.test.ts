// The bytes each batchnorm backward pass must move, against counts written out by hand for small shapes.
import { describe, expect, test } from 'vitest';
import { batchNormBackwardBytes, makeBackwardPassBytes, type Dispatch } from '../../src/engine.ts';

// n = 4, d = 3: N = n * d = 12 elements per [n, d] array, 3 per [d] vector, 4 bytes each.
const shape = { n: 4, d: 3, chunks: 1, relu: false, useX: true, pair: false };

describe('makeBackwardPassBytes, n = 4, d = 3', () => {
  test("the graph's five column passes (x and mean bound: USE_X)", () => {
    expect(makeBackwardPassBytes('sumsColumns', shape)).toBe(4 * (12 + 12 + 3 + 3)); // dout, xhat -> dbeta, dgamma = 120
    expect(makeBackwardPassBytes('dxhatColumns', shape)).toBe(4 * (12 + 3 + 12)); // dout, gamma -> dxhat = 108
    expect(makeBackwardPassBytes('dvarColumns', shape)).toBe(4 * (12 + 12 + 3 + 3)); // dxhat, x, mean -> divar = 120
    expect(makeBackwardPassBytes('dmuColumns', shape)).toBe(4 * (12 + 12 + 3 + 3 + 3 + 12 + 3)); // + invStd, divar -> dx1, sum = 192
    expect(makeBackwardPassBytes('dxColumns', shape)).toBe(4 * (12 + 3 + 12)); // dx1, sum dx1 -> dx = 108
  });

  test("the graph's nodes in one pass: dout, xhat, gamma, invStd -> dbeta, dgamma, dxhat, dx1, divar, sum dx1, dx", () => {
    expect(makeBackwardPassBytes('graphColumns', shape)).toBe(4 * (12 + 12 + 3 + 3 + 3 + 3 + 12 + 12 + 3 + 3 + 12)); // 312
  });

  test('the closed form in one pass: dout, xhat, gamma, invStd -> dx, dbeta, dgamma', () => {
    expect(makeBackwardPassBytes('alternativeColumns', shape)).toBe(4 * (12 + 12 + 3 + 3 + 12 + 3 + 3)); // 192
  });

  test('without x (xmu from xhat / invStd), with the fused ReLU, and in 2 chunks', () => {
    const noX = { ...shape, useX: false };
    expect(makeBackwardPassBytes('dvarColumns', noX)).toBe(4 * (12 + 12 + 3 + 3)); // dxhat, xhat, invStd -> divar
    expect(makeBackwardPassBytes('dmuColumns', noX)).toBe(4 * (12 + 12 + 3 + 3 + 12 + 3)); // invStd once = 180
    expect(makeBackwardPassBytes('sumsColumns', { ...shape, relu: true })).toBe(4 * (12 + 12 + 12 + 3 + 3)); // + reluOut = 168
    const two = { ...shape, chunks: 2 }; // partial sums: 2 * 3 = 6 elements each
    expect(makeBackwardPassBytes('sumDoutXhat', two)).toBe(4 * (12 + 12 + 6 + 6)); // 144
    expect(makeBackwardPassBytes('combine', { ...two, pair: true })).toBe(4 * (6 + 6 + 3 + 3)); // 72
    expect(makeBackwardPassBytes('combine', two)).toBe(4 * (6 + 3)); // 36
    expect(makeBackwardPassBytes('dvarNode', two)).toBe(4 * (12 + 12 + 3 + 6)); // 132
    expect(makeBackwardPassBytes('dmuNode', two)).toBe(4 * (12 + 12 + 3 + 3 + 3 + 12 + 6)); // 204
    expect(makeBackwardPassBytes('dxAlternative', two)).toBe(4 * (12 + 12 + 3 + 3 + 3 + 3 + 12)); // 192
    expect(makeBackwardPassBytes('dxhatNode', two)).toBe(108);
    expect(makeBackwardPassBytes('dxNode', two)).toBe(108);
  });

  test('an unknown entry point is an error naming it', () => {
    expect(() => makeBackwardPassBytes('dfoo', shape)).toThrow(/no byte rule for entry point "dfoo"/);
  });
});

describe('batchNormBackwardBytes reads the entry point and constants of each dispatch', () => {
  const fake = (entryPoint: string, consts: string, name = 'batchnorm-backward') =>
    ({ label: entryPoint, kernel: { name, entryPoint, key: `${name}:${entryPoint}:${consts}:1f2e` } }) as unknown as Dispatch;

  test('a graph list at n = 4, d = 3 (one chunk): 648 bytes in five passes', () => {
    const list = [
      fake('sumsColumns', 'RELU=0,WG=64'),
      fake('dxhatColumns', 'RELU=0,WG=64'),
      fake('dvarColumns', 'USE_X=1,WG=64'),
      fake('dmuColumns', 'USE_X=1,WG=64'),
      fake('dxColumns', 'WG=64'),
    ];
    const bytes = batchNormBackwardBytes(list, 4, 3);
    expect(bytes).toEqual([120, 108, 120, 192, 108]);
    expect(bytes.reduce((a, b) => a + b)).toBe(648);
  });

  test('USE_X=0 and RELU=1 are read from the kernel key', () => {
    expect(batchNormBackwardBytes([fake('dmuColumns', 'USE_X=0,WG=64')], 4, 3)).toEqual([180]);
    expect(batchNormBackwardBytes([fake('alternativeColumns', 'RELU=1,WG=64')], 4, 3)).toEqual([4 * (48 + 12)]);
  });

  test("the large-array layouts: the split sums' chunks come from their grid's y, the fused pass moves 12·N·D bytes", () => {
    const grid = (dispatch: Dispatch, workgroups: [number, number, number]) => ({ ...dispatch, workgroups });
    const split = [
      grid(fake('sumDoutXhat', 'COLS=4,RELU=0,ROWS=64'), [1, 5, 1]),
      grid(fake('combine', 'PAIR=1'), [1, 1, 1]),
      fake('dxTiles', 'COLS=4,RELU=0,ROWS=64'),
    ];
    // n = 4099, d = 3: N = 12297, 5 chunks of partials C = 15
    expect(batchNormBackwardBytes(split, 4099, 3)).toEqual([4 * (2 * 12297 + 2 * 15), 4 * 2 * (15 + 3), 4 * (3 * 12297 + 12)]);
    expect(batchNormBackwardBytes([fake('fusedColumns', 'COLS=8,RELU=0,ROWS=32')], 4, 3)).toEqual([192]);
  });

  test('a dispatch of another kernel is an error naming it', () => {
    expect(() => batchNormBackwardBytes([fake('main', '', 'relu')], 4, 3)).toThrow(/relu\.main is not a batchnorm backward pass/);
  });
});
