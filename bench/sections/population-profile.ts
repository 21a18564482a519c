// Benchmark section: one population training step dispatch by dispatch (kernel, grid, invocations, bytes bound, GPU time), in this adapter's plan or a GPU's.
import { FullyConnectedPopulation, type AdapterSummary, type GpuContext } from '../../src/index.ts';
import { batchNormBackwardBytes, isCpuAdapter, matmulVariants, profileDispatches, type Dispatch, type Kernel } from '../../src/engine.ts';
import { makeBenchData, makeBenchIndices } from './training.ts';
import type { BenchSection } from './types.ts';

const hiddenDims = [50, 50, 50, 50, 50, 50, 50];
const batch = 50;

/** The adapter class `--gpu-plan` plans for: an NVIDIA H200 (a 132-SM GPU), whatever adapter runs the kernels. */
export const gpuClassAdapter: AdapterSummary = {
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: 'NVIDIA H200',
  runtime: 'node',
};

/** One launch of the step. */
export interface ProfiledDispatch {
  label: string;
  /** The kernel's module and entry point. */
  kernel: string;
  workgroups: [number, number, number];
  workgroupSize: number;
  /** Workgroups times the workgroup size: the invocations launched (a kernel may leave some idle). */
  invocations: number;
  /** Bytes of the storage ranges the launch binds, read-only and read-write, each counted once (uniforms left out). */
  boundBytes: number;
  /** Bytes from the op's byte rule where one exists (batchnorm backward), else null. */
  ruleBytes: number | null;
  /** Matmul launches: the K steps each invocation loops over (its K chunk) and the C block it owns. */
  kLoop: number | null;
  block: number | null;
  /** GPU (or wall-clock) ms of the launch in its own pass, or null in counts-only runs. */
  ms: number | null;
}

/** One population size's profile. */
export interface PopulationProfile {
  models: number;
  /** 'adapter': the plan this adapter picks; 'gpu': the plan `gpuClassAdapter` would get, run here. */
  plan: 'adapter' | 'gpu';
  timer: 'timestamp-query' | 'wall-clock' | null;
  dispatches: ProfiledDispatch[];
  totalWorkgroups: number;
  totalBoundBytes: number;
  totalMs: number | null;
}

/**
 * The K loop and block of a matmul launch, read back from its label (`matmul 20x 50x52x3072 (A·B) block8 wg=64 splitK=6`).
 *   makeMatmulLoop('matmul 20x 50x52x3072 (A·B) block8 wg=64 splitK=6 +bias'); // { kLoop: 512, block: 8 }
 *   makeMatmulLoop('softmax loss'); // null
 */
export function makeMatmulLoop(label: string): { kLoop: number; block: number } | null {
  const m = /^matmul (?:\d+x )?\d+x\d+x(\d+) \([^)]*\) (\w+)(?: \(vec4 stores\))? wg=\d+(?: splitK=(\d+))?/.exec(label);
  const row = m && matmulVariants[m[2] as keyof typeof matmulVariants];
  if (!m || !row) return null;
  const k = Number(m[1]);
  const splits = Number(m[3] ?? 1);
  const kq = row.kMultiple ?? 4;
  // the plan rounds a chunk up to a multiple of its K step; the loop stops at K (the longest chunk's trip count)
  return { kLoop: Math.min(k, Math.ceil(Math.ceil(k / splits) / kq) * kq), block: row.block };
}

/** Record, while `run` runs, the storage bytes each bind group made binds (read-only and read-write alike). */
async function recordBindings<T>(
  device: GPUDevice,
  run: () => Promise<T>,
): Promise<{ result: T; bytes: WeakMap<GPUBindGroup, GPUBindGroupEntry[]> }> {
  const bytes = new WeakMap<GPUBindGroup, GPUBindGroupEntry[]>();
  const original = device.createBindGroup;
  device.createBindGroup = function (this: GPUDevice, desc: GPUBindGroupDescriptor) {
    const group = original.call(this, desc);
    bytes.set(group, [...desc.entries]);
    return group;
  };
  try {
    return { result: await run(), bytes };
  } finally {
    delete (device as Partial<GPUDevice>).createBindGroup;
    if (device.createBindGroup !== original) device.createBindGroup = original;
  }
}

function boundBytesOf(kernel: Kernel, entries: readonly GPUBindGroupEntry[] | undefined): number {
  if (!entries) return 0;
  const kinds = new Map(Object.values(kernel.bindings).map((b) => [b.binding, b.kind]));
  return entries.reduce((s, e) => {
    const r = e.resource as GPUBufferBinding;
    if (kinds.get(e.binding) === 'uniform' || !r.buffer) return s;
    return s + (r.size ?? r.buffer.size - (r.offset ?? 0));
  }, 0);
}

function ruleBytesOf(d: Dispatch, d0: number): number | null {
  if (d.kernel.name !== 'batchnorm-backward' && d.kernel.name !== 'batchnorm-backward-shapes') return null;
  try {
    return batchNormBackwardBytes([d], batch, d0)[0]!;
  } catch {
    return null;
  }
}

/**
 * Profile one training step of a population of M [50]x7 batchnorm nets (batch 50, Adam): every dispatch's grid and bound
 * bytes, and its time in its own pass unless `countsOnly`. With `plan: 'gpu'` the population is built on a view of `gpu`
 * that reports `gpuClassAdapter`, so every planner picks what an H200 would and the kernels run here.
 *   const p = await profilePopulationStep(gpu, 20, { plan: 'gpu', countsOnly: true, reps: 1 });
 *   p.dispatches.map((d) => d.workgroups);
 */
export async function profilePopulationStep(
  gpu: GpuContext,
  models: number,
  o: { plan: 'adapter' | 'gpu'; countsOnly: boolean; reps: number },
): Promise<PopulationProfile> {
  const ctx: GpuContext = o.plan === 'gpu' ? { ...gpu, adapter: gpuClassAdapter } : gpu;
  const pop = await FullyConnectedPopulation.create(ctx, hiddenDims, {
    useBatchnorm: true,
    backwardVariant: 'graph',
    members: Array.from({ length: models }, (_, k) => ({ weightScale: 2e-2, seed: k })),
  });
  try {
    await pop.attachData(makeBenchData(7));
    await pop.setUpdateRule('adam', { learningRate: 1e-3 });
    const { result: list, bytes } = await recordBindings(gpu.device, () => pop.trainDispatches(batch));
    // timed: one real step first writes the feeds (row indices) and Adam's hyperparameters the replayed launches read
    if (!o.countsOnly) await pop.stepModels(makeBenchIndices(1, batch)[0]!);
    const timed = o.countsOnly ? null : await profileDispatches(ctx, list, { reps: o.reps, warmup: 1 });
    const width = Math.ceil(hiddenDims[0]! / 4) * 4 * models;
    const dispatches = list.map((d, i): ProfiledDispatch => {
      const size = d.kernel.workgroupSize[0] * d.kernel.workgroupSize[1] * d.kernel.workgroupSize[2];
      const groups = d.workgroups[0] * d.workgroups[1] * d.workgroups[2];
      const loop = makeMatmulLoop(d.label);
      return {
        label: d.label,
        kernel: `${d.kernel.name}:${d.kernel.entryPoint}`,
        workgroups: [...d.workgroups],
        workgroupSize: size,
        invocations: groups * size,
        boundBytes: boundBytesOf(d.kernel, bytes.get(d.bindGroup)),
        ruleBytes: ruleBytesOf(d, width),
        kLoop: loop?.kLoop ?? null,
        block: loop?.block ?? null,
        ms: timed ? timed.dispatches[i]!.medianMs : null,
      };
    });
    return {
      models,
      plan: o.plan,
      timer: timed?.kind ?? null,
      dispatches,
      totalWorkgroups: dispatches.reduce((s, d) => s + d.workgroups[0] * d.workgroups[1] * d.workgroups[2], 0),
      totalBoundBytes: dispatches.reduce((s, d) => s + d.boundBytes, 0),
      totalMs: timed ? timed.totalMs : null,
    };
  } finally {
    await pop.destroy();
  }
}

/**
 * The profiles as text tables, one per population size.
 *   console.log(formatPopulationProfiles(report.populationProfile));
 */
export function formatPopulationProfiles(profiles: readonly PopulationProfile[]): string {
  const out: string[] = [];
  for (const p of profiles) {
    out.push(
      '',
      `population step profile: ${p.models} [50]x7 batchnorm nets, batch ${batch}, Adam; ${p.plan === 'gpu' ? `the plan of ${gpuClassAdapter.description}` : "this adapter's plan"}; ${p.dispatches.length} dispatches, ${p.totalWorkgroups} workgroups, ${(p.totalBoundBytes / 2 ** 20).toFixed(1)} MiB bound${p.totalMs === null ? ' (counts only)' : `, ${p.totalMs.toFixed(3)} ms (${p.timer}, each launch in its own pass)`}`,
    );
    const head = ['#', 'kernel', 'workgroups', 'wg', 'invocations', 'KiB bound', 'KiB rule', 'K loop', 'ms', 'label'];
    const rows = p.dispatches.map((d, i) => [
      String(i),
      d.kernel,
      d.workgroups.join('x'),
      String(d.workgroupSize),
      String(d.invocations),
      (d.boundBytes / 1024).toFixed(1),
      d.ruleBytes === null ? '-' : (d.ruleBytes / 1024).toFixed(1),
      d.kLoop === null ? '-' : `${d.kLoop} (${d.block}x${d.block})`,
      d.ms === null ? '-' : d.ms.toFixed(3),
      d.label,
    ]);
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 1 || i === 9 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
    out.push(line(head), ...rows.map(line));
  }
  return out.join('\n');
}

/**
 * `--only population-profile [--models 20,100,1000] [--gpu-plan] [--counts-only]`: the step profile at each size. On a
 * CPU adapter launches are timed only up to 100 models (a 1000-net step takes minutes there); past that, counts only.
 *   const { populationProfile } = await populationProfileSection.run(gpu, { ...opts, profileModels: [20, 100] });
 */
export const populationProfileSection: BenchSection = {
  name: 'population-profile',
  async run(gpu, opts) {
    const sizes = opts.profileModels ?? [20, 100, 1000];
    const plan = opts.gpuPlan ? 'gpu' : 'adapter';
    const out: PopulationProfile[] = [];
    for (const models of sizes) {
      const countsOnly = opts.countsOnly === true || (isCpuAdapter(gpu.adapter) && models > 100);
      const p = await profilePopulationStep(gpu, models, { plan, countsOnly, reps: Math.min(opts.reps, 5) });
      out.push(p);
      opts.log(
        `population profile: ${models} nets (${plan} plan), ${p.dispatches.length} dispatches, ${p.totalWorkgroups} workgroups${p.totalMs === null ? '' : `, ${p.totalMs.toFixed(2)} ms`}`,
      );
    }
    return { populationProfile: out };
  },
};
