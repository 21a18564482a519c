// One settings field: what it holds (its spec) and its text, read with a message naming the field and written back.

/** How a field's text is read: integers, floats, hidden-layer lists ("100x5" or "100,50"), N×D size lists, or a choice. */
export type FieldType = 'int' | 'float' | 'dims' | 'sizes' | 'enum';
export type FieldValue = number | number[] | [number, number][] | string;

export interface FieldSpec {
  key: string;
  label: string;
  type: FieldType;
  default: FieldValue;
  min?: number;
  /** The largest value; for a list of sizes ('dims'), the largest each size may be. */
  max?: number;
  options?: string[];
  help?: string;
}

/**
 * Reads a field's text; throws a message that names the field when it cannot.
 *   parseField(epochsField, '2');  // 2
 *   parseField(epochsField, '-1'); // Error: epochs: must be at least 1 (got "-1")
 */
export function parseField(f: FieldSpec, text: string): FieldValue {
  const t = text.trim();
  const bad = (why: string) => new Error(`${f.label}: ${why} (got "${text}")`);
  const checkRange = (v: number) => {
    if (f.min !== undefined && v < f.min) throw bad(`must be at least ${f.min}`);
    if (f.max !== undefined && v > f.max) throw bad(`must be at most ${f.max}`);
    return v;
  };
  switch (f.type) {
    case 'int': {
      const v = Number(t);
      if (!Number.isInteger(v) || t === '') throw bad('must be an integer');
      return checkRange(v);
    }
    case 'float': {
      const v = Number(t);
      if (!Number.isFinite(v) || t === '') throw bad('must be a number');
      return checkRange(v);
    }
    case 'dims': {
      const out: number[] = [];
      for (const part of t.split(/[,\s]+/).filter(Boolean)) {
        const m = /^(\d+)(?:[x×*](\d+))?$/.exec(part);
        if (!m) throw bad('write sizes like 100x5 or 100,50');
        const size = Number(m[1]);
        const times = m[2] === undefined ? 1 : Number(m[2]);
        if (size < 1 || times < 1 || times > 100) throw bad('sizes and counts must be positive');
        if (f.max !== undefined && size > f.max) throw bad(`each size must be at most ${f.max}`);
        for (let i = 0; i < times; i++) out.push(size);
      }
      if (out.length === 0) throw bad('give at least one hidden layer');
      return out;
    }
    case 'sizes': {
      const out: [number, number][] = [];
      for (const part of t.split(/[,\s]+/).filter(Boolean)) {
        const m = /^(\d+)[x×*](\d+)$/.exec(part);
        if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw bad('write sizes like 100x500, 1000x500');
        out.push([Number(m[1]), Number(m[2])]);
      }
      if (out.length === 0) throw bad('give at least one size');
      return out;
    }
    case 'enum':
      if (!f.options!.includes(t)) throw bad(`must be one of ${f.options!.join(', ')}`);
      return t;
  }
}

/**
 * A field's value as text, the inverse of parseField (hidden layers compress runs).
 *   formatField(hiddenField, [100, 100, 50]); // '100x2,50'
 *   formatField(lrField, 0.001);              // '1e-3'
 */
export function formatField(f: FieldSpec, v: FieldValue): string {
  switch (f.type) {
    case 'dims': {
      const dims = v as number[];
      const parts: string[] = [];
      for (let i = 0; i < dims.length;) {
        let j = i;
        while (j < dims.length && dims[j] === dims[i]) j++;
        parts.push(j - i > 1 ? `${dims[i]}x${j - i}` : `${dims[i]}`);
        i = j;
      }
      return parts.join(',');
    }
    case 'sizes':
      return (v as [number, number][]).map(([n, d]) => `${n}x${d}`).join(',');
    case 'float':
      return formatNumber(v as number);
    default:
      return String(v);
  }
}

/**
 * Short exact text for a float.
 *   formatNumber(0.001); // '1e-3'
 *   formatNumber(5);     // '5'
 */
export function formatNumber(v: number): string {
  if (v === 0 || (Math.abs(v) >= 0.1 && Math.abs(v) < 1e4)) return String(v);
  const [m, e] = v.toExponential().split('e');
  return `${m}e${Number(e)}`;
}
