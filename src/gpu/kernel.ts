// Kernel loading by reflection: a WGSL file's bindings and uniform struct layouts come from wgsl_reflect, never from a TS table.
import type { GpuContext } from './device.ts';
import { reflectKernel, type BindingInfo, type KernelSpec, type UniformLayout } from './reflection.ts';

export {
  reflectKernel,
  type BindingInfo,
  type BindingKind,
  type KernelReflection,
  type KernelSpec,
  type UniformField,
  type UniformLayout,
} from './reflection.ts';

export interface Kernel {
  name: string;
  entryPoint: string;
  key: string;
  pipeline: GPUComputePipeline;
  bindGroupLayouts: GPUBindGroupLayout[];
  bindings: Record<string, BindingInfo>;
  uniforms: Record<string, UniformLayout>;
  workgroupSize: [number, number, number];
}

function keyOf(spec: KernelSpec): string {
  const consts = Object.entries(spec.constants ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return `${spec.name}:${spec.entryPoint ?? 'main'}:${consts.join(',')}:${hash(spec.source)}`;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

/**
 * Compile (once) and return the pipeline for a kernel; errors name the kernel and quote the compiler.
 *   const k = await getKernel(gpu, { name: 'relu', source: reluWgsl, entryPoint: 'forward' });
 *   pass.setPipeline(k.pipeline);
 */
export function getKernel(ctx: GpuContext, spec: KernelSpec): Promise<Kernel> {
  const key = keyOf(spec);
  let p = ctx.pipelines.get(key) as Promise<Kernel> | undefined;
  if (!p) {
    p = compileKernel(ctx, spec, key);
    ctx.pipelines.set(key, p);
    p.catch(() => ctx.pipelines.delete(key));
  }
  return p;
}

async function compileKernel(ctx: GpuContext, spec: KernelSpec, key: string): Promise<Kernel> {
  const entryPoint = spec.entryPoint ?? 'main';
  const { bindings, uniforms, workgroupSize } = reflectKernel(spec);
  const { device } = ctx;
  const label = `${spec.name}.${entryPoint}`;
  const module = device.createShaderModule({ label, code: spec.source });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    throw new Error(
      `kernel ${label}: WGSL compilation failed:\n` + errors.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.message}`).join('\n'),
    );
  }
  const groups = new Map<number, GPUBindGroupLayoutEntry[]>();
  for (const b of Object.values(bindings)) {
    const list = groups.get(b.group) ?? [];
    list.push({ binding: b.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: b.kind } });
    groups.set(b.group, list);
  }
  const maxGroup = Math.max(-1, ...groups.keys());
  const bindGroupLayouts: GPUBindGroupLayout[] = [];
  for (let g = 0; g <= maxGroup; g++) {
    bindGroupLayouts.push(device.createBindGroupLayout({ label: `${label} group ${g}`, entries: groups.get(g) ?? [] }));
  }
  let pipeline: GPUComputePipeline;
  try {
    pipeline = await device.createComputePipelineAsync({
      label,
      layout: device.createPipelineLayout({ label, bindGroupLayouts }),
      compute: { module, entryPoint, constants: spec.constants ?? {} },
    });
  } catch (e) {
    throw new Error(
      `kernel ${label} (constants ${JSON.stringify(spec.constants ?? {})}): pipeline creation failed: ${(e as Error).message}`,
    );
  }
  return { name: spec.name, entryPoint, key, pipeline, bindGroupLayouts, bindings, uniforms, workgroupSize };
}

/**
 * Make a bind group by WGSL variable name; a missing or unknown name is an error naming the kernel.
 *   const bg = createBindGroup(gpu, k, { x: xBuf, y: yBuf, params: paramsBuf });
 *   pass.setBindGroup(0, bg);
 */
export function createBindGroup(
  ctx: GpuContext,
  kernel: Kernel,
  resources: Record<string, GPUBuffer | GPUBufferBinding>,
  group = 0,
): GPUBindGroup {
  const wanted = Object.values(kernel.bindings).filter((b) => b.group === group);
  for (const name of Object.keys(resources)) {
    if (!kernel.bindings[name] || kernel.bindings[name]!.group !== group) {
      throw new Error(
        `kernel ${kernel.name}.${kernel.entryPoint}: no binding named "${name}" in group ${group} (has ${wanted.map((b) => b.name).join(', ')})`,
      );
    }
  }
  const entries: GPUBindGroupEntry[] = wanted.map((b) => {
    const r = resources[b.name];
    if (!r) throw new Error(`kernel ${kernel.name}.${kernel.entryPoint}: binding "${b.name}" was not given a buffer`);
    return { binding: b.binding, resource: 'buffer' in r ? r : { buffer: r } };
  });
  return ctx.device.createBindGroup({ label: `${kernel.name}.${kernel.entryPoint}`, layout: kernel.bindGroupLayouts[group]!, entries });
}

/**
 * Pack uniform values by field name into the struct's bytes; unknown or missing fields are errors.
 *   const bytes = makeUniformData(k, 'params', { n: 1024, scale: 0.5 });
 *   device.queue.writeBuffer(paramsBuf, 0, bytes);
 */
export function makeUniformData(
  kernel: Kernel | import('./reflection.ts').KernelReflection,
  name: string,
  values: Record<string, number | number[]>,
): ArrayBuffer {
  const layout = kernel.uniforms[name];
  const where = 'name' in kernel ? `kernel ${kernel.name}` : 'kernel';
  if (!layout) throw new Error(`${where}: no uniform named "${name}"`);
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  const view = new DataView(bytes);
  for (const key of Object.keys(values)) {
    if (!layout.fields[key])
      throw new Error(`${where}: uniform ${name} has no field "${key}" (fields: ${Object.keys(layout.fields).join(', ')})`);
  }
  for (const [field, f] of Object.entries(layout.fields)) {
    if (field.startsWith('_')) continue; // padding
    const v = values[field];
    if (v === undefined) throw new Error(`${where}: uniform ${name}.${field} was not given a value`);
    const arr = Array.isArray(v) ? v : [v];
    if (arr.length !== f.count) throw new Error(`${where}: uniform ${name}.${field} takes ${f.count} value(s), got ${arr.length}`);
    arr.forEach((x, i) => {
      const o = f.offset + 4 * i;
      if (f.type === 'f32') view.setFloat32(o, x, true);
      else if (f.type === 'u32') {
        if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`${where}: uniform ${name}.${field} = ${x} is not a u32`);
        view.setUint32(o, x, true);
      } else {
        if (!Number.isInteger(x)) throw new Error(`${where}: uniform ${name}.${field} = ${x} is not an i32`);
        view.setInt32(o, x, true);
      }
    });
  }
  return bytes;
}

/**
 * One WGSL module from several sources, in order: WGSL has no include, so a kernel's shared helpers
 * (shaders/lib/) are prepended to it before reflection and compilation (module-scope declarations may come in
 * any order). Compiler line numbers then count from the first module.
 *   const source = linkWgsl(columnsWgsl, batchnormForwardWgsl);
 *   getKernel(gpu, { name: 'batchnorm-forward', source, entryPoint: 'trainColumns' });
 */
export function linkWgsl(...modules: string[]): string {
  return modules.join('\n');
}

const vec4Alias = 'alias V = vec4f;';

/**
 * The f32 twin of a kernel written over `alias V = vec4f;` (WGSL has no type overrides), for lengths not a multiple of 4.
 *   const scalar = scalarVariant(reluWgsl, 'shaders/relu.wgsl');
 *   getKernel(gpu, { name: 'relu-f32', source: scalar, entryPoint: 'forward' });
 */
export function scalarVariant(source: string, file: string): string {
  if (!source.includes(vec4Alias)) throw new Error(`${file}: expected the line "${vec4Alias}"`);
  return source.replace(vec4Alias, 'alias V = f32;');
}
