// Tensor construction and the shape checks whose messages every reference function uses.
import { describe, expect, it } from 'vitest';
import { assertShape, formatShape, makeTensor, rowsCols, sizeOf } from '../../src/reference/index.ts';

describe('tensor', () => {
  it('sizeOf multiplies dimensions and rejects bad ones', () => {
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([5, 0])).toBe(0);
    expect(() => sizeOf([2, -1])).toThrow(/sizeOf: shape \[2,-1\]/);
    expect(() => sizeOf([1.5])).toThrow(/sizeOf/);
  });

  it('makeTensor zero-fills, or copies data of the right length', () => {
    expect(makeTensor([2, 2])).toEqual({ data: new Float64Array(4), shape: [2, 2] });
    const src = [1, 2, 3, 4, 5, 6];
    const t = makeTensor([2, 3], src);
    src[0] = 99;
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => makeTensor([2, 3], [1, 2])).toThrow('makeTensor: data has 2 elements, shape [2,3] needs 6');
  });

  it('assertShape names the function, the argument and both shapes', () => {
    expect(() => assertShape('f', 'x', [4, 5], [4, 5])).not.toThrow();
    expect(() => assertShape('f', 'x', [4, 5], [null, 5])).not.toThrow();
    expect(() => assertShape('f', 'x', [4, 5], [null, 6])).toThrow('f: x has shape [4,5], expected [?,6]');
    expect(() => assertShape('f', 'x', [4, 5, 1], [4, 5])).toThrow('f: x has shape [4,5,1], expected [4,5]');
    expect(formatShape([])).toBe('[]');
  });

  it('rowsCols flattens all but the first dimension', () => {
    expect(rowsCols('f', 'x', [10, 3, 32, 32])).toEqual([10, 3072]);
    expect(() => rowsCols('f', 'x', [10])).toThrow('f: x has shape [10], expected [N,...] with at least 2 dimensions');
  });
});
