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

/** Bytes per element of the dtypes the format names (only F32 is read; the others are recognized to say so). */
const DTYPE_SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function describe(v: unknown): string {
  return v === undefined ? 'missing' : (JSON.stringify(v) ?? String(v));
}

/**
 * Decode a safetensors file of F32 tensors, trusting nothing: the header must be a JSON object whose entries each
 * have dtype F32, a shape of non-negative integers and data_offsets [begin, end] of integers with
 * 0 <= begin <= end <= data length, end - begin = product(shape) x 4, and no two tensors overlapping. Every error
 * names the tensor and the field. The result has no prototype, so a tensor named `__proto__` is just a key.
 *   const t = decodeSafetensors(bytes);
 *   t.gamma1.data; // Float32Array
 */
export function decodeSafetensors(bytes: Uint8Array): Record<string, NamedTensor> {
  if (bytes.length < 8) throw new Error(`safetensors: file of ${bytes.length} bytes is too short for a header`);
  const big = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (big > BigInt(bytes.length - 8))
    throw new Error(`safetensors: header length ${big} runs past the end of the ${bytes.length}-byte file`);
  const len = Number(big);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + len)));
  } catch (e) {
    throw new Error(`safetensors: header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new Error(`safetensors: header must be a JSON object of tensors, got ${Array.isArray(header) ? 'an array' : describe(header)}`);
  const base = 8 + len;
  const dataLength = bytes.length - base;
  const out: Record<string, NamedTensor> = Object.create(null);
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const name of Object.keys(header)) {
    const h: unknown = (header as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      if (typeof h !== 'object' || h === null || Array.isArray(h))
        throw new Error(`safetensors: __metadata__ must be an object of strings, got ${describe(h)}`);
      continue;
    }
    const where = `safetensors: tensor "${name}"`;
    if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new Error(`${where} must be an object, got ${describe(h)}`);
    const { dtype, shape, data_offsets: offsets } = h as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES))
      throw new Error(`${where}: dtype ${describe(dtype)} is not a safetensors dtype (${Object.keys(DTYPE_SIZES).join(', ')})`);
    if (dtype !== 'F32') throw new Error(`safetensors: ${name} has dtype ${dtype}; only F32 is supported`);
    if (!Array.isArray(shape)) throw new Error(`${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
    shape.forEach((d: unknown, i) => {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
        throw new Error(`${where}: shape[${i}] is ${describe(d)}, not a non-negative integer`);
    });
    if (!Array.isArray(offsets) || offsets.length !== 2)
      throw new Error(`${where}: data_offsets must be [begin, end], got ${describe(offsets)}`);
    const [begin, end] = offsets as unknown[];
    for (const [field, v] of [
      ['begin', begin],
      ['end', end],
    ] as const)
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        throw new Error(`${where}: data_offsets ${field} is ${describe(v)}, not a non-negative integer`);
    const b = begin as number;
    const e = end as number;
    if (b > e) throw new Error(`${where}: data_offsets [${b}, ${e}] are reversed (begin > end)`);
    if (e > dataLength) throw new Error(`${where}: data_offsets end ${e} runs past the ${dataLength} bytes of data`);
    const n = (shape as number[]).reduce((a, c) => a * c, 1);
    if (e - b !== 4 * n)
      throw new Error(`${where}: data_offsets [${b}, ${e}] hold ${e - b} bytes, shape [${shape.join(',')}] x F32 needs ${4 * n}`);
    spans.push({ name, begin: b, end: e });
    out[name] = { data: new Float32Array(bytes.slice(base + b, base + e).buffer), shape: [...(shape as number[])] };
  }
  // Sorted by begin, a tensor overlaps an earlier one exactly when it starts before the furthest end seen so far.
  spans.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let last: (typeof spans)[number] | undefined;
  for (const q of spans) {
    if (q.end === q.begin) continue; // an empty tensor occupies no bytes
    if (last && q.begin < last.end)
      throw new Error(
        `safetensors: tensor "${q.name}" data_offsets [${q.begin}, ${q.end}] overlap "${last.name}" [${last.begin}, ${last.end}]`,
      );
    if (!last || q.end > last.end) last = q;
  }
  return out;
}
