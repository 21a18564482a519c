// Hostile and malformed safetensors files: each is rejected with a message naming the tensor and field, and a real net (Node + Dawn) keeps its parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/graph/safetensors.ts';
import { requestGpu } from '../../src/gpu/device.ts';
import { FullyConnectedNeuralNet } from '../../src/nn/fc-net.ts';
import type { GpuContext } from '../../src/gpu/device.ts';

/** A file from a raw header (any JSON value, or raw text) and `dataBytes` bytes of data (valued 1..n as bytes). */
function makeFile(header: unknown, dataBytes = 16): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + json.length + i] = i + 1;
  return out;
}

const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

/** [what, file, the message it must give] — each names the tensor and the field at fault. */
const hostile: [string, Uint8Array, RegExp][] = [
  ['negative begin', makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }), /"w": data_offsets begin is -4/],
  ['reversed offsets', makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }), /"w": data_offsets \[8, 4\] are reversed/],
  [
    'end past the data',
    makeFile({ w: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }),
    /"w": data_offsets end 32 runs past the 16 bytes/,
  ],
  ['fractional offset', makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }), /"w": data_offsets begin is 0.5/],
  ['string offset', makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: ['0', 4] } }), /"w": data_offsets begin is "0"/],
  ['missing data_offsets', makeFile({ w: { dtype: 'F32', shape: [1] } }), /"w": data_offsets must be \[begin, end\], got missing/],
  ['three offsets', makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }), /"w": data_offsets must be \[begin, end\]/],
  [
    'size not the shape',
    makeFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }),
    /"w": data_offsets \[0, 8\] hold 8 bytes, shape \[3\]/,
  ],
  ['negative dimension', makeFile({ w: { dtype: 'F32', shape: [-1, -2], data_offsets: [0, 8] } }), /"w": shape\[0\] is -1/],
  ['string dimensions', makeFile({ w: { dtype: 'F32', shape: ['2', '2'], data_offsets: [0, 16] } }), /"w": shape\[0\] is "2"/],
  ['non-array shape', makeFile({ w: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }), /"w": shape must be an array/],
  ['missing dtype', makeFile({ w: { shape: [2], data_offsets: [0, 8] } }), /"w": dtype missing is not a safetensors dtype/],
  ['unknown dtype', makeFile({ w: { dtype: 'X9', shape: [2], data_offsets: [0, 8] } }), /"w": dtype "X9" is not a safetensors dtype/],
  ['F16 data', makeFile({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }), /w has dtype F16; only F32 is supported/],
  ['null entry', makeFile({ w: null }), /"w" must be an object, got null/],
  ['number entry', makeFile({ w: 3 }), /"w" must be an object, got 3/],
  ['header 5', makeFile(5), /header must be a JSON object of tensors, got 5/],
  ['header []', makeFile([]), /header must be a JSON object of tensors, got an array/],
  ['header null', makeFile(null), /header must be a JSON object of tensors, got null/],
  ['header a string', makeFile('"W1"'), /header must be a JSON object of tensors, got "W1"/],
  ['header not JSON', makeFile('{"w": '), /header is not JSON/],
  ['metadata not an object', makeFile({ __metadata__: 7, w: ok }), /__metadata__ must be an object/],
  [
    'overlapping tensors',
    makeFile({ a: ok, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }),
    /"b" data_offsets \[4, 12\] overlap "a" \[0, 8\]/,
  ],
  [
    'overlap hidden behind an empty tensor',
    makeFile({
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      c: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    }),
    /"c" data_offsets \[8, 12\] overlap "a" \[0, 16\]/,
  ],
  [
    'header length past the file',
    (() => {
      const f = makeFile({ w: ok });
      new DataView(f.buffer).setBigUint64(0, 2n ** 63n, true);
      return f;
    })(),
    /header length 9223372036854775808 runs past the end/,
  ],
  ['too short', new Uint8Array(7), /file of 7 bytes is too short/],
];

describe('decodeSafetensors trusts nothing', () => {
  for (const [what, file, message] of hostile)
    it(`rejects ${what}`, () => {
      expect(() => decodeSafetensors(file)).toThrow(message);
    });

  it('keeps a tensor named __proto__ as a plain key: the result has no prototype to replace', () => {
    const t = decodeSafetensors(
      makeFile(`{"__proto__": ${JSON.stringify(ok)}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}`),
    );
    expect(Object.getPrototypeOf(t)).toBe(null);
    expect(Object.keys(t).sort()).toEqual(['__proto__', 'b']);
    // bytes 1..8 and 9..16 as little-endian floats, read independently of the decoder
    const expected = new Float32Array(new Uint8Array(Array.from({ length: 16 }, (_, i) => i + 1)).buffer);
    expect(Array.from(t['__proto__']!.data)).toEqual(Array.from(expected.subarray(0, 2)));
    expect(Array.from(t.b!.data)).toEqual(Array.from(expected.subarray(2, 4)));
    expect(({} as Record<string, unknown>).dtype).toBe(undefined); // Object.prototype untouched
  });

  it('accepts an empty tensor and adjacent tensors (the edges of the rules)', () => {
    const t = decodeSafetensors(
      makeFile({
        a: ok,
        e: { dtype: 'F32', shape: [0, 3], data_offsets: [8, 8] },
        b: { dtype: 'F32', shape: [2, 1], data_offsets: [8, 16] },
      }),
    );
    expect(t.e!.data.length).toBe(0);
    expect(t.b!.shape).toEqual([2, 1]);
  });

  it('rejects random byte flips of a valid file with an Error, never a bare TypeError or a silent misread', () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1e9);
    let s = seed >>> 0;
    const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const good = encodeSafetensors({ W1: { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] }, b1: { data: [7, 8, 9], shape: [3] } });
    const len = Number(new DataView(good.buffer).getBigUint64(0, true));
    try {
      for (let trial = 0; trial < 2000; trial++) {
        const f = good.slice();
        const flips = 1 + Math.floor(rand() * 3);
        for (let k = 0; k < flips; k++) f[8 + Math.floor(rand() * len)] = Math.floor(rand() * 256); // inside the header
        let t: Record<string, { data: Float32Array; shape: number[] }>;
        try {
          t = decodeSafetensors(f);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect(e).not.toBeInstanceOf(TypeError);
          expect((e as Error).message).toMatch(/^safetensors: /);
          continue;
        }
        // accepted: every tensor must lie inside the data, match its shape, and equal the bytes at its offsets
        for (const [name, v] of Object.entries(t)) {
          expect(v.data.length, name).toBe(v.shape.reduce((a, b) => a * b, 1));
          expect(
            v.shape.every((d) => Number.isInteger(d) && d >= 0),
            name,
          ).toBe(true);
        }
      }
    } catch (e) {
      throw new Error(`safetensors fuzz failed with SEED=${seed} (rerun with SEED=${seed}): ${(e as Error).message}`);
    }
  });
});

describe('a hostile file leaves a real net (Node + Dawn) unchanged', () => {
  let gpu: GpuContext;
  let net: FullyConnectedNeuralNet;
  const opts = { inputDim: 5, numClasses: 3, useBatchnorm: true, seed: 4, weightScale: 0.5 };
  let before: Record<string, { data: Float32Array; shape: number[] }>;

  beforeAll(async () => {
    gpu = await requestGpu();
    net = await FullyConnectedNeuralNet.create(gpu, [4], opts);
    before = await net.getParams();
  }, 60_000);
  afterAll(async () => {
    await net?.destroy();
    gpu?.device.destroy();
  });

  async function expectUnchanged(): Promise<void> {
    const after = await net.getParams();
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const [name, t] of Object.entries(before)) expect(Array.from(after[name]!.data), name).toEqual(Array.from(t.data));
  }

  /** The net's own tensors, filled with a marker value, with `edit` applied: a file that is valid except for the edit. */
  function tensorsWith(edit: (t: Record<string, { data: number[]; shape: number[] }>) => void): Uint8Array {
    const t = Object.fromEntries(Object.entries(before).map(([n, v]) => [n, { data: Array.from(v.data, () => 42), shape: [...v.shape] }]));
    edit(t);
    return encodeSafetensors(t);
  }

  it('the net has tensors to corrupt (W1, gamma1, running means)', () => {
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2']));
  });

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['a malformed header', () => makeFile({ W1: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }), /"W1": data_offsets begin is -4/],
    [
      'a wrong shape found part-way (after valid tensors in name order)',
      () => tensorsWith((t) => (t.b2 = { data: [1, 2, 3], shape: [1, 3] })),
      /loadSafetensors: b2 has shape \[1,3\], this FullyConnectedNeuralNet has \[3\]/,
    ],
    [
      'a wrong size found part-way',
      () => tensorsWith((t) => (t.gamma1 = { data: [1, 2], shape: [2] })),
      /loadSafetensors: gamma1 has 2 values, expected 4/,
    ],
    ['an unknown tensor', () => tensorsWith((t) => (t.W9 = { data: [1], shape: [1] })), /loadSafetensors: no tensor named W9/],
    ['a tensor named __proto__', () => makeFile(`{"__proto__": ${JSON.stringify(ok)}}`), /lacks W1/],
    [
      'a file lacking some tensors',
      () => tensorsWith((t) => delete t.W2),
      /loadSafetensors: the file lacks W2 of this FullyConnectedNeuralNet \(pass \{ partial: true \}/,
    ],
  ];
  for (const [what, file, message] of cases)
    it(`refuses ${what} and writes nothing`, async () => {
      expect(() => net.loadSafetensors(file())).toThrow(message);
      await expectUnchanged();
    });

  it('loads a partial file when asked, changing only the tensors it holds', async () => {
    const b1 = [0.25, -0.5, 0.75, 1];
    net.loadSafetensors(encodeSafetensors({ b1: { data: b1, shape: [4] } }), { partial: true });
    const after = await net.getParams();
    expect(Array.from(after.b1!.data)).toEqual(b1);
    for (const [name, t] of Object.entries(before))
      if (name !== 'b1') expect(Array.from(after[name]!.data), name).toEqual(Array.from(t.data));
    net.setParams({ b1: before.b1! });
  });
});
