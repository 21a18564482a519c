// Downloads: results as JSON and CSV, parameters as safetensors (the format of huggingface/safetensors).

/**
 * Encode named tensors as a .safetensors file: u64 little-endian header length, JSON header
 * (`dtype`, `shape`, `data_offsets` per tensor, string `__metadata__`), then the raw little-endian data.
 *   const bytes = encodeSafetensors({ W1: { data: w, shape: [3072, 100] } }, { note: 'demo' });
 *   download(new Blob([bytes]), 'model.safetensors');
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
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * size] };
    offset += n * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // the data starts 8-byte aligned
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const { data } = tensors[name]!;
    const typed = dtype === 'F32' ? Float32Array.from(data) : Float64Array.from(data);
    out.set(new Uint8Array(typed.buffer), at);
    at += typed.byteLength;
  }
  return out;
}

/** Save a blob under `filename` through a temporary link (what the download buttons do). */
export function download(data: Blob | Uint8Array | string, filename: string, type = 'application/octet-stream'): void {
  const blob = data instanceof Blob ? data : new Blob([data as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Rows of objects as CSV (columns from the first row's keys; quoted when needed; arrays joined by ';').
 *   toCsv([{ scale: 1e-4, model: 'batchnorm', bestValAcc: 0.3 }]);
 */
export function toCsv(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown): string => {
    const s = Array.isArray(v) ? v.join(';') : v === undefined || v === null ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/** JSON with non-finite numbers kept readable (NaN and Infinity become strings, not null). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
}
