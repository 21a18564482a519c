// WGSL reflection by wgsl_reflect: bindings, uniform struct layouts and workgroup sizes, parsed once per source text.
import { WgslReflect, ResourceType } from 'wgsl_reflect';

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

export interface BindingInfo {
  name: string;
  group: number;
  binding: number;
  kind: BindingKind;
}

export interface UniformField {
  offset: number;
  type: 'f32' | 'u32' | 'i32';
  /** 1 for scalars, 2..4 for vectors. */
  count: number;
}

export interface UniformLayout {
  name: string;
  size: number;
  fields: Record<string, UniformField>;
}

/** What identifies one compiled pipeline: file + entry point + override constants. */
export interface KernelSpec {
  /** Name of the kernel family (the .wgsl file's base name), used in errors and keys. */
  name: string;
  source: string;
  entryPoint?: string;
  constants?: Record<string, number>;
}

/** The reflected shape of one entry point: bindings, uniform layouts and workgroup size. */
export interface KernelReflection {
  bindings: Record<string, BindingInfo>;
  uniforms: Record<string, UniformLayout>;
  workgroupSize: [number, number, number];
}

const scalarTypes: Record<string, UniformField['type']> = { f32: 'f32', u32: 'u32', i32: 'i32' };

function fieldOf(typeName: string, offset: number, where: string): UniformField {
  const vec = /^vec([234])(<(\w+)>|([fiu]))$/.exec(typeName);
  if (vec) {
    const el = vec[3] ?? { f: 'f32', i: 'i32', u: 'u32' }[vec[4]!]!;
    const type = scalarTypes[el];
    if (type) return { offset, type, count: Number(vec[1]) };
  }
  const type = scalarTypes[typeName];
  if (!type) throw new Error(`${where}: uniform field type ${typeName} is not supported (use f32, u32, i32 or vecN of them)`);
  return { offset, type, count: 1 };
}

/**
 * Reflect one entry point of a WGSL source, with override constants substituted so the workgroup size is exact.
 *   const r = reflectKernel({ name: 'relu', source, entryPoint: 'forward' });
 *   r.bindings.x.binding; r.uniforms.params.fields.n.offset;
 */
export function reflectKernel(spec: KernelSpec): KernelReflection {
  const entryPoint = spec.entryPoint ?? 'main';
  let source = spec.source;
  for (const [k, v] of Object.entries(spec.constants ?? {})) {
    const re = new RegExp(`override\\s+${k}\\s*:\\s*(\\w+)\\s*(=\\s*[^;]+)?;`);
    if (!re.test(source)) throw new Error(`kernel ${spec.name}: no override constant named ${k}`);
    source = source.replace(re, (_m, t: string) => `override ${k}: ${t} = ${t}(${v});`); // parsed only if workgroupSizeOf cannot tell
  }
  // one parse per source text: the bindings and uniforms do not depend on the override constants
  const reflect = parsed(spec.source);
  const entry = reflect.entry.compute.find((e) => e.name === entryPoint);
  if (!entry) {
    throw new Error(
      `kernel ${spec.name}: no @compute entry point "${entryPoint}" (has ${reflect.entry.compute.map((e) => e.name).join(', ')})`,
    );
  }
  const bindings: Record<string, BindingInfo> = {};
  const uniforms: Record<string, UniformLayout> = {};
  for (const r of entry.resources) {
    let kind: BindingKind;
    if (r.resourceType === ResourceType.Uniform) kind = 'uniform';
    else if (r.resourceType === ResourceType.Storage) kind = r.access === 'read' ? 'read-only-storage' : 'storage';
    else throw new Error(`kernel ${spec.name}: binding ${r.name} is not a buffer; only buffers are supported`);
    bindings[r.name] = { name: r.name, group: r.group, binding: r.binding, kind };
    if (kind === 'uniform') {
      const members = (r.type as { members?: { name: string; offset: number; type: { name: string } }[] }).members;
      if (!members) throw new Error(`kernel ${spec.name}: uniform ${r.name} must be a struct`);
      const fields: Record<string, UniformField> = {};
      for (const m of members) fields[m.name] = fieldOf(m.type.name, m.offset, `kernel ${spec.name}, ${r.name}.${m.name}`);
      uniforms[r.name] = { name: r.name, size: r.size, fields };
    }
  }
  const ws = workgroupSizeOf(reflect, entryPoint, spec.constants) ?? reflectedWorkgroupSize(new WgslReflect(source), entryPoint);
  return { bindings, uniforms, workgroupSize: ws };
}

/** Parsed sources by text: a page builds many kernels of one file (entry points, constants), and a parse costs 10-100 ms. */
const parses = new Map<string, WgslReflect>();

function parsed(source: string): WgslReflect {
  let r = parses.get(source);
  if (!r) {
    r = new WgslReflect(source);
    parses.set(source, r);
  }
  return r;
}

function reflectedWorkgroupSize(reflect: WgslReflect, entryPoint: string): [number, number, number] {
  const ws = reflect.entry.compute.find((e) => e.name === entryPoint)?.workgroupSize ?? [1, 1, 1];
  return [ws[0] ?? 1, ws[1] ?? 1, ws[2] ?? 1];
}

/**
 * The entry's workgroup size with override constants, from the parse of the unsubstituted source: each
 * `@workgroup_size` term that names a given constant takes its value, the others keep the reflected ones.
 * Null when the attribute is not a list of names and literals (then the substituted source is parsed).
 */
function workgroupSizeOf(
  reflect: WgslReflect,
  entryPoint: string,
  constants: Record<string, number> = {},
): [number, number, number] | null {
  const base = reflectedWorkgroupSize(reflect, entryPoint);
  if (Object.keys(constants).length === 0) return base;
  const fn = (
    reflect as unknown as { _functions?: Map<string, { node?: { attributes?: { name: string; value: unknown }[] | null } }> }
  )._functions?.get(entryPoint);
  const attr = fn?.node?.attributes?.find((x) => x.name === 'workgroup_size');
  if (!attr) return null;
  const terms = Array.isArray(attr.value) ? attr.value : [attr.value];
  if (terms.length < 1 || terms.length > 3 || !terms.every((t) => typeof t === 'string')) return null;
  const out: [number, number, number] = [...base];
  for (const [i, t] of (terms as string[]).entries()) {
    if (/^\d+[iu]?$/.test(t)) continue; // a literal: the reflected value
    if (!/^[A-Za-z_]\w*$/.test(t)) return null; // an expression
    if (t in constants) out[i] = constants[t]!;
  }
  return out;
}
