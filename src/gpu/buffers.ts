// GPU buffers: a scope that owns what a model or op creates (each checked against the device's limits and the context's memory budget first), uploads, readback and uniforms.
import type { GpuContext } from './device.ts';
import { makeUniformData, type Kernel } from './kernel.ts';

/**
 * STORAGE | COPY_SRC | COPY_DST: the default for tensors (read lazily: GPUBufferUsage exists once WebGPU is loaded).
 *   scope.createTensorBuffer(n * 4, 'x', tensorUsage());
 *   tensorUsage() & GPUBufferUsage.STORAGE; // non-zero
 */
export function tensorUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/**
 * A tensor on the GPU: a whole buffer, or a range of one (a parameter inside a model's flat store).
 *   const w: TensorRef = { buffer: store, offset: 256, size: 400 };
 *   refSize(w); // 400
 */
export type TensorRef = GPUBuffer | GPUBufferBinding;

/**
 * The buffer behind a tensor reference.
 *   refBuffer({ buffer: store, offset: 256, size: 400 }) === store; // true
 *   refBuffer(x) === x; // for a whole buffer
 */
export function refBuffer(r: TensorRef): GPUBuffer {
  return 'buffer' in r ? r.buffer : r;
}

/**
 * Bytes a tensor reference spans (a range's size, else the rest of the buffer from its offset).
 *   refSize(buf) === buf.size; // true
 *   refSize({ buffer: buf, offset: 256, size: 16 }); // 16
 */
export function refSize(r: TensorRef): number {
  if (!('buffer' in r)) return r.size;
  return r.size ?? r.buffer.size - (r.offset ?? 0);
}

/**
 * Byte offset of a tensor reference in its buffer.
 *   refOffset(buf); // 0
 *   refOffset({ buffer: buf, offset: 256, size: 16 }); // 256
 */
export function refOffset(r: TensorRef): number {
  return 'buffer' in r ? (r.offset ?? 0) : 0;
}

function padded(byteLength: number): number {
  return Math.max(4, Math.ceil(byteLength / 4) * 4);
}

/**
 * Bytes as people read them: "1.23 GB", "512 MB", "96 kB", "12 B" (decimal units, three significant digits).
 *   formatBytes(1234000640); // "1.23 GB"
 *   formatBytes(1073741824); // "1.07 GB"
 */
export function formatBytes(n: number): string {
  const [unit, div] = n >= 1e9 ? ['GB', 1e9] : n >= 1e6 ? ['MB', 1e6] : n >= 1e3 ? ['kB', 1e3] : ['B', 1];
  return `${div === 1 ? n : (n / div).toPrecision(3)} ${unit}`;
}

/** GPUBufferUsage.STORAGE (the spec's 0x80), without needing the WebGPU globals. */
const STORAGE_USAGE = 0x80;

/**
 * Throws, before anything is allocated, when a buffer of `size` bytes would exceed the device's maxBufferSize or,
 * for a storage buffer (kernels bind their buffers whole), maxStorageBufferBindingSize; the message names the buffer,
 * its size and the limit. Every buffer of a scope passes here; models check their tensors earlier to name the option.
 *   checkBufferSize(device.limits, 'W1', 3072 * 100000 * 4, GPUBufferUsage.STORAGE);
 *   // Error: buffer "W1" is 1228800000 bytes (1.23 GB) > maxBufferSize 1073741824 (1.07 GB)
 */
export function checkBufferSize(
  limits: Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>,
  label: string,
  size: number,
  usage: number,
): void {
  const over = (name: string, limit: number) =>
    new Error(`buffer "${label}" is ${size} bytes (${formatBytes(size)}) > ${name} ${limit} (${formatBytes(limit)})`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`buffer "${label}": size ${size} is not a byte count`);
  if (size > limits.maxBufferSize) throw over('maxBufferSize', limits.maxBufferSize);
  if (usage & STORAGE_USAGE && size > limits.maxStorageBufferBindingSize)
    throw over('maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize);
}

/**
 * Throws, before anything is allocated, when a buffer of `size` bytes would bring the context's live buffers past its
 * memoryBudget (when it has one); the message names the buffer, its size, the bytes live and the budget.
 *   checkMemoryBudget({ memoryBudget: 2 ** 30, stats: { bytesLive: 1e9 } }, 'W1', 1e8);
 *   // Error: buffer "W1" is 100000000 bytes (100 MB): with 1000000000 bytes live that is 1100000000 (1.10 GB) > memoryBudget 1073741824 (1.07 GB)
 */
export function checkMemoryBudget(ctx: Pick<GpuContext, 'memoryBudget' | 'stats'>, label: string, size: number): void {
  const budget = ctx.memoryBudget;
  if (budget === undefined) return;
  const live = ctx.stats.bytesLive;
  if (live + size > budget)
    throw new Error(
      `buffer "${label}" is ${size} bytes (${formatBytes(size)}): with ${live} bytes live that is ${live + size} (${formatBytes(live + size)}) > memoryBudget ${budget} (${formatBytes(budget)})`,
    );
}

/**
 * Hold a context's live buffers to `budget` bytes (requestGpu's `memoryBudget`), after checking it is a whole number of
 * bytes > 0; undefined leaves the context without a budget. checkMemoryBudget then refuses each buffer past it.
 *   setMemoryBudget(gpu, 4 * 2 ** 30); // gpu.memoryBudget === 4294967296
 *   setMemoryBudget(gpu, 0);           // Error: requestGpu: memoryBudget must be a whole number of bytes > 0, got 0
 */
export function setMemoryBudget(ctx: Pick<GpuContext, 'memoryBudget'>, budget: number | undefined): void {
  if (budget === undefined) return;
  if (!(Number.isSafeInteger(budget) && budget > 0))
    throw new Error(`requestGpu: memoryBudget must be a whole number of bytes > 0, got ${budget}`);
  ctx.memoryBudget = budget;
}

/**
 * Everything one owner (a model, an op call, a benchmark) allocates, destroyed together.
 *   const scope = createScope(gpu);
 *   const x = scope.createTensorBuffer(new Float32Array([1, 2, 3]), 'x'); scope.destroy();
 */
export interface GpuScope {
  ctx: GpuContext;
  buffers: GPUBuffer[];
  /** A storage buffer of `byteLength` bytes (rounded up to 4), or holding `data`. */
  createTensorBuffer(data: number | Float32Array | Uint32Array | Int32Array | Uint8Array, label: string, usage?: number): GPUBuffer;
  /** A uniform buffer for `kernel`'s struct `name`, filled from named fields. */
  createUniformBuffer(kernel: Kernel, name: string, values: Record<string, number | number[]>, label?: string): GPUBuffer;
  /** Destroy every buffer of the scope; idempotent. */
  destroy(): void;
}

/**
 * A new scope on `ctx`: every buffer it makes is checked first (size limits, memory budget) and destroyed with it.
 *   const scope = createScope(gpu);
 *   try { run(scope); } finally { scope.destroy(); }
 */
export function createScope(ctx: GpuContext): GpuScope {
  const scope: GpuScope = {
    ctx,
    buffers: [],
    createTensorBuffer(data, label, usage = tensorUsage()) {
      const size = padded(typeof data === 'number' ? data : data.byteLength);
      const mapped = typeof data !== 'number';
      checkBufferSize(ctx.device.limits, label, size, usage);
      checkMemoryBudget(ctx, label, size);
      const buffer = ctx.device.createBuffer({ label, size, usage, mappedAtCreation: mapped });
      if (mapped) {
        new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        buffer.unmap();
      }
      scope.buffers.push(buffer);
      return buffer;
    },
    createUniformBuffer(kernel, name, values, label) {
      const bytes = makeUniformData(kernel, name, values);
      checkBufferSize(ctx.device.limits, label ?? `${kernel.name}.${name}`, bytes.byteLength, 0);
      checkMemoryBudget(ctx, label ?? `${kernel.name}.${name}`, bytes.byteLength);
      const buffer = ctx.device.createBuffer({
        label: label ?? `${kernel.name}.${name}`,
        size: bytes.byteLength,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        mappedAtCreation: true,
      });
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes));
      buffer.unmap();
      scope.buffers.push(buffer);
      return buffer;
    },
    destroy() {
      for (const b of scope.buffers) b.destroy();
      scope.buffers.length = 0;
    },
  };
  return scope;
}

/**
 * Copy a buffer back to the CPU (one staging buffer, mapped, destroyed).
 *   const bytes = await readBuffer(gpu, yBuf);
 *   const y = new Float32Array(bytes);
 */
export async function readBuffer(ctx: GpuContext, ref: TensorRef, byteLength = refSize(ref), offset = 0): Promise<ArrayBuffer> {
  const size = padded(byteLength);
  const src = refBuffer(ref);
  offset += refOffset(ref);
  const staging = ctx.device.createBuffer({
    label: `readback ${src.label}`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const enc = ctx.device.createCommandEncoder({ label: 'readback' });
    enc.copyBufferToBuffer(src, offset, staging, 0, size);
    ctx.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, byteLength);
  } finally {
    staging.destroy();
  }
}

/**
 * Read `count` f32 values from a buffer.
 *   const y = await readF32(gpu, yBuf, n);
 *   console.log(y[0]);
 */
export async function readF32(ctx: GpuContext, src: TensorRef, count: number, offsetElements = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(ctx, src, count * 4, offsetElements * 4));
}

/**
 * Narrow any numeric array to Float32Array (float64 reference data going to the GPU).
 *   const x32 = toF32(reference.randnTensor([2, 3]).data);
 *   x32.length; // 6
 */
export function toF32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}
