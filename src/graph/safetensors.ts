// safetensors (Hugging Face's format): an 8-byte little-endian header length, a JSON header, then the raw tensor bytes.

export interface NamedTensor {
  data: Float32Array;
  shape: number[];
}

/**
 * Encode tensors as a safetensors file: u64 little-endian header length, JSON header (`dtype`, `shape`,
 * `data_offsets` per tensor, string `__metadata__`), then the raw little-endian data, 8-byte aligned, in name order.
 *   const bytes = encodeSafetensors({ W1: { data, shape: [3072, 100] } });          // F32
 *   encodeSafetensors(referenceParams, { model: 'reference' }, 'F64');               // the float64 reference's
 */
export function encodeSafetensors(
  tensors: Record<string, { data: ArrayLike<number>; shape: number[] }>,
  metadata: Record<string, string> = {},
  dtype: 'F32' | 'F64' = 'F32',
): Uint8Array {
  const size = dtype === 'F32' ? 4 : 8;
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has ${t.data.length} values but shape [${t.shape.join(',')}]`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size * n] };
    offset += size * n;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8; // the data starts 8-byte aligned, as the reference writer does
  const head = new Uint8Array(json.length + pad).fill(0x20);
  head.set(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const data = tensors[name]!.data;
    const typed = dtype === 'F32' ? Float32Array.from(data) : Float64Array.from(data);
    out.set(new Uint8Array(typed.buffer), at);
    at += typed.byteLength;
  }
  return out;
}

/**
 * Decode a safetensors file of F32 tensors; other dtypes and malformed headers are errors that say what is wrong.
 *   const t = decodeSafetensors(bytes);
 *   t.gamma1.data; // Float32Array
 */
export function decodeSafetensors(bytes: Uint8Array): Record<string, NamedTensor> {
  if (bytes.length < 8) throw new Error(`safetensors: file of ${bytes.length} bytes is too short for a header`);
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + len > bytes.length) throw new Error(`safetensors: header length ${len} runs past the end of the ${bytes.length}-byte file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
  } catch (e) {
    throw new Error(`safetensors: header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + len;
  const out: Record<string, NamedTensor> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (h.dtype !== 'F32') throw new Error(`safetensors: ${name} has dtype ${h.dtype}; only F32 is supported`);
    const [b, e] = h.data_offsets;
    const n = h.shape.reduce((a, c) => a * c, 1);
    if (e - b !== 4 * n || base + e > bytes.length)
      throw new Error(`safetensors: ${name} offsets [${b}, ${e}] do not fit shape [${h.shape.join(',')}] or the file`);
    out[name] = { data: new Float32Array(bytes.slice(base + b, base + e).buffer), shape: h.shape };
  }
  return out;
}
