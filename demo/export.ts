// Downloads: results as JSON and CSV, parameters as safetensors (the format of huggingface/safetensors).

export { encodeSafetensors } from '../src/index.ts';

/**
 * Save a blob under `filename` through a temporary link (what the download buttons do).
 *   download(toJson(result), 'sweep.json', 'application/json');
 *   download(await net.saveSafetensors(), 'net.safetensors');
 */
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
 *   toCsv([{ scale: 1e-4, model: 'batchnorm', bestValAcc: 0.3 }]); // 'scale,model,bestValAcc\n0.0001,batchnorm,0.3\n'
 *   toCsv([{ dims: [100, 50], note: 'a, b' }]);                    // 'dims,note\n100;50,"a, b"\n'
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

/**
 * JSON with non-finite numbers kept readable (NaN and Infinity become strings, not null).
 *   toJson({ loss: NaN }); // '{\n  "loss": "NaN"\n}'
 *   toJson([1, Infinity]); // '[\n  1,\n  "Infinity"\n]'
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
}
