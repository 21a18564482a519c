// safetensors encoding checked byte by byte against the format, and the round trip; malformed files name the cause.
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/graph/safetensors.ts';

describe('safetensors', () => {
  it('writes the u64 header length, an 8-byte aligned JSON header and the little-endian data', () => {
    const bytes = encodeSafetensors({ b: { data: [1.5, -2], shape: [2] }, a: { data: [3], shape: [1, 1] } }, { note: 'x' });
    const len = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + len) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
    expect(header).toEqual({
      __metadata__: { note: 'x' },
      a: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    });
    expect(Array.from(new Float32Array(bytes.slice(8 + len).buffer))).toEqual([3, 1.5, -2]);
    const back = decodeSafetensors(bytes);
    expect(Array.from(back.b!.data)).toEqual([1.5, -2]);
    expect(back.a!.shape).toEqual([1, 1]);
  });

  it('writes F64 for the float64 reference, and rejects what it cannot read', () => {
    const f64 = encodeSafetensors({ w: { data: [0.1], shape: [1] } }, {}, 'F64');
    const len = Number(new DataView(f64.buffer).getBigUint64(0, true));
    expect(new Float64Array(f64.slice(8 + len).buffer)[0]).toBe(0.1);
    expect(() => decodeSafetensors(f64)).toThrow('w has dtype F64; only F32 is supported');
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow('too short');
    expect(() => encodeSafetensors({ w: { data: [1, 2], shape: [3] } })).toThrow('w has 2 values but shape [3]');
  });
});
