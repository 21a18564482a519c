// Device acquisition for the browser (navigator.gpu) and Node (the `webgpu` package, Dawn), with resource counters.
import { makeAdapterDetail, makeDawnToggles, type AdapterDetail, type DawnToggles } from './adapter-detail.ts';
import { findEncoding, traceEncoding } from './error-trace.ts';
import { setMemoryBudget } from './buffers.ts';

export type { AdapterDetail, DawnToggles } from './adapter-detail.ts';

/** What the adapter says about itself, plus where we got it. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  runtime: 'browser' | 'node';
  /** Features, subgroup sizes, limits granted and Dawn toggles (set by requestGpu; absent for createGpu). */
  detail?: AdapterDetail;
}

/** Counts of GPU objects made through the device, to prove a training loop allocates nothing. */
export interface GpuStats {
  buffersCreated: number;
  buffersLive: number;
  bytesLive: number;
  bindGroupsCreated: number;
  pipelinesCreated: number;
  submits: number;
}

/** A device plus what the engine needs to know about it. */
export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  hasTimestampQuery: boolean;
  /** The device has the `subgroups` feature (requested by requestGpu where the adapter has it). */
  hasSubgroups: boolean;
  /** The adapter's smallest subgroup size (0 when unknown); kernels that treat a workgroup as one subgroup use it. */
  subgroupMinSize: number;
  /** When true, every run is wrapped in error scopes and a validation error throws. */
  debug: boolean;
  stats: GpuStats;
  /** The most bytes of live buffers this context may hold (requestGpu's `memoryBudget`); a buffer past it is refused before it is made. Unset: no budget. */
  memoryBudget?: number;
  /** Resolves when the device is lost; `lostInfo` is set then. */
  lost: Promise<GPUDeviceLostInfo>;
  lostInfo: GPUDeviceLostInfo | null;
  /** Pipeline cache, keyed by file + entry point + override constants (see kernel.ts). */
  pipelines: Map<string, Promise<unknown>>;
  /** GPU errors no error scope caught (the device's `uncapturederror` events), oldest first, each naming its kernel where known. */
  errors: GpuErrorRecord[];
  /** Call `listener` on every uncaptured GPU error from now on; returns the unsubscribe. */
  onError(listener: (e: GpuErrorRecord) => void): () => void;
  /** A new context made the way this one was (requestGpu's options), e.g. after a device loss; absent for createGpu. */
  recreate?: () => Promise<GpuContext>;
}

/** One uncaptured GPU error: its kind, the message, and the kernel (dispatch label) it names, when it names one. */
export interface GpuErrorRecord {
  kind: 'validation' | 'out-of-memory' | 'internal' | 'unknown';
  message: string;
  /** The dispatch's label from the debug-group stack (in debug mode, or found by re-encoding with debug groups), else a pipeline's label. */
  kernel: string | null;
}

export interface RequestGpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Limits the caller needs; the adapter's maximum is requested for buffer sizes by default. */
  requiredLimits?: Record<string, number>;
  debug?: boolean;
  /** Use this GPU object instead of navigator.gpu / the `webgpu` package. */
  gpu?: GPU;
  /** Node only: Dawn toggles, passed to the `webgpu` package as `enable-dawn-features=…` / `disable-dawn-features=…`. */
  dawnToggles?: DawnToggles;
  /** The most bytes of live buffers the context may hold (GpuContext.memoryBudget); default none. */
  memoryBudget?: number;
}

export const webgpuMissingMessage =
  'WebGPU is not available. In Chrome/Chromium 113+ it is on by default on Windows, macOS and ChromeOS; ' +
  'on Linux start Chrome with --enable-unsafe-webgpu (and --enable-features=Vulkan), and serve the page from ' +
  'http://localhost or https (navigator.gpu exists only in secure contexts). In Node, install the `webgpu` package; ' +
  'without a GPU point Vulkan at SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json ' +
  '(Debian package chromium) with libvulkan1 installed.';

const swiftshaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

// dawn.node tears its instance down when the GPU object is collected, even under a live device: keep them.
const nodeGpus = new Set<GPU>();

async function nodeGpu(toggles: { enable: string[]; disable: string[] }): Promise<GPU> {
  const name = 'webgpu';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new Error(`${webgpuMissingMessage} (importing 'webgpu' failed: ${(e as Error).message})`);
  }
  Object.assign(globalThis, mod.globals);
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  if (env && !env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES) {
    const fs = await import(/* @vite-ignore */ 'node:fs');
    if (!fs.existsSync('/dev/nvidia0') && !fs.existsSync('/dev/dri') && fs.existsSync(swiftshaderIcd)) {
      env.VK_ICD_FILENAMES = swiftshaderIcd;
    }
  }
  if (env && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = '/tmp';
  // Dawn rounds timestamps to 65.5 µs unless told not to (makeDawnToggles disables it); benchmarks need the real values.
  const flags = [`disable-dawn-features=${toggles.disable.join(',')}`];
  if (toggles.enable.length) flags.push(`enable-dawn-features=${toggles.enable.join(',')}`);
  const gpu = mod.create(flags);
  nodeGpus.add(gpu);
  return gpu;
}

/**
 * Obtain a WebGPU device in the browser or in Node, with timestamp queries and subgroups when the adapter has them.
 *   const gpu = await requestGpu();
 *   console.log(gpu.adapter.architecture, gpu.hasTimestampQuery);
 */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuContext> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const isNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string' &&
    typeof (globalThis as { window?: unknown }).window === 'undefined';
  const toggles = isNode && !options.gpu ? makeDawnToggles(options.dawnToggles) : { enable: [], disable: [] };
  if (!isNode && (options.dawnToggles?.enable?.length || options.dawnToggles?.disable?.length))
    throw new Error('requestGpu: dawnToggles apply in Node only (the browser sets its own)');
  const gpu = options.gpu ?? (isNode ? await nodeGpu(toggles) : nav?.gpu);
  if (!gpu) throw new Error(webgpuMissingMessage);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error(`${webgpuMissingMessage} (requestAdapter returned null)`);
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
  };
  for (const [name, value] of Object.entries(options.requiredLimits ?? {})) {
    const have = (adapter.limits as unknown as Record<string, number>)[name];
    if (have === undefined) throw new Error(`requestGpu: unknown limit "${name}"`);
    if (name.startsWith('min') ? have > value : have < value) {
      throw new Error(`requestGpu: the adapter's ${name} is ${have}, but ${value} is needed`);
    }
    requiredLimits[name] = value;
  }
  const requiredFeatures = (['timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const ctx = createGpu(
    device,
    {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
      runtime: isNode ? 'node' : 'browser',
      detail: makeAdapterDetail(adapter, device, Object.keys(requiredLimits), toggles),
    },
    options.debug ?? false,
  );
  setMemoryBudget(ctx, options.memoryBudget);
  ctx.recreate = () => requestGpu(options);
  return ctx;
}

/**
 * Wrap a device you already have; counts buffers, bind groups and pipelines made through it.
 *   const gpu = createGpu(device);
 *   gpu.stats.buffersLive; // 0
 */
export function createGpu(device: GPUDevice, adapter?: AdapterSummary, debug = false): GpuContext {
  const stats: GpuStats = { buffersCreated: 0, buffersLive: 0, bytesLive: 0, bindGroupsCreated: 0, pipelinesCreated: 0, submits: 0 };
  const ctx: GpuContext = {
    device,
    adapter: adapter ?? { vendor: '', architecture: '', device: '', description: '', runtime: 'browser' },
    hasTimestampQuery: device.features.has('timestamp-query'),
    hasSubgroups: device.features.has('subgroups'),
    subgroupMinSize: (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo?.subgroupMinSize ?? 0,
    debug,
    stats,
    lost: device.lost,
    lostInfo: null,
    pipelines: new Map(),
    errors: [],
    onError(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  const listeners = new Set<(e: GpuErrorRecord) => void>();
  device.lost.then((info) => {
    ctx.lostInfo = info;
  });
  const report = (record: GpuErrorRecord) => {
    ctx.errors.push(record);
    for (const l of listeners) l(record);
  };
  // An error without a debug-group stack (no debug groups outside debug mode) is traced to its dispatch by
  // re-encoding the command it names (error-trace.ts); records still arrive in the order the errors did.
  let queued = Promise.resolve();
  let pending = 0;
  device.addEventListener('uncapturederror', (event) => {
    const record = makeGpuErrorRecord((event as GPUUncapturedErrorEvent).error);
    const reencode = !hasDebugGroup(record.message) ? findEncoding(device, record.message) : null;
    if (!reencode && pending === 0) return report(record);
    pending++;
    queued = queued.then(async () => {
      const again = reencode && (await traceEncoding(device, reencode).catch(() => null));
      const traced = again && makeGpuErrorRecord(again).kernel;
      if (traced) record.kernel = traced;
      pending--;
      report(record);
    });
  });
  instrument(device, stats);
  return ctx;
}

const instrumented = new WeakSet<GPUDevice>();

function instrument(device: GPUDevice, stats: GpuStats): void {
  if (instrumented.has(device)) return;
  instrumented.add(device);
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const buffer = createBuffer(desc);
    stats.buffersCreated++;
    stats.buffersLive++;
    stats.bytesLive += desc.size;
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) {
        destroyed = true;
        stats.buffersLive--;
        stats.bytesLive -= desc.size;
      }
      destroy();
    };
    return buffer;
  };
  const createBindGroup = device.createBindGroup.bind(device);
  device.createBindGroup = (desc: GPUBindGroupDescriptor) => {
    stats.bindGroupsCreated++;
    return createBindGroup(desc);
  };
  const createPipeline = device.createComputePipeline.bind(device);
  device.createComputePipeline = (desc: GPUComputePipelineDescriptor) => {
    stats.pipelinesCreated++;
    return createPipeline(desc);
  };
  const createPipelineAsync = device.createComputePipelineAsync.bind(device);
  device.createComputePipelineAsync = (desc: GPUComputePipelineDescriptor) => {
    stats.pipelinesCreated++;
    return createPipelineAsync(desc);
  };
  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    stats.submits++;
    submit(buffers);
  };
}

/** A line of Dawn's debug-group stack in an error message: `  > "label"`. */
const debugGroupLine = /^\s*>\s*"(.*)"\s*$/gm;

function hasDebugGroup(message: string): boolean {
  return message.match(debugGroupLine) !== null;
}

/**
 * Describe a GPU error: its kind, its message, and the kernel it names (the innermost debug group, which
 * encodeDispatches sets to the dispatch's label with debugGroups, else the first pipeline label in the message).
 *   makeGpuErrorRecord(err).kernel; // 'affine forward 50x3072 -> 100'
 *   makeGpuErrorRecord(err).kind;   // 'validation'
 */
export function makeGpuErrorRecord(error: GPUError): GpuErrorRecord {
  const message = String(error.message ?? error).replace(/\u0000/g, '');
  const ctor = (error as { constructor?: { name?: string } }).constructor?.name ?? '';
  const kind = ctor.includes('Validation')
    ? 'validation'
    : ctor.includes('OutOfMemory')
      ? 'out-of-memory'
      : ctor.includes('Internal')
        ? 'internal'
        : 'unknown';
  const groups = [...message.matchAll(debugGroupLine)].map((m) => m[1]!);
  const pipeline = /ComputePipeline "([^"]+)"/.exec(message)?.[1] ?? null;
  return { kind, message, kernel: groups[0] ?? pipeline };
}

/** Throw if the device was lost, naming the reason (callers check this before each step). */
export function assertNotLost(ctx: GpuContext): void {
  if (ctx.lostInfo) throw new Error(`GPU device lost (${ctx.lostInfo.reason}): ${ctx.lostInfo.message}`);
}
