// Benchmark section: populations of [50]x7 batchnorm nets trained as one (FullyConnectedPopulation), ms per step and build time by population size.
import { FullyConnectedNeuralNet, FullyConnectedPopulation, type GpuContext } from '../../src/index.ts';
import { makeBenchData, makeBenchIndices } from './training.ts';
import { timePopulationGroups } from './population-groups.ts';
import type { BenchSection } from './types.ts';

const hiddenDims = [50, 50, 50, 50, 50, 50, 50];
const batch = 50;

export interface PopulationFigure {
  models: number;
  hiddenDims: number[];
  useBatchnorm: boolean;
  batch: number;
  steps: number;
  /** Creating the population, attaching the data, the update rule and the first (compiling) step. */
  buildMs: number;
  /** Wall clock per step of the whole population over queued steps, up to the last losses read back. */
  msPerStep: number;
}

/** Building alone: a population (or one wide net) from `create` to a model, without data, rule or step. */
export interface BuildFigure {
  /** Models built (1 for the wide net). */
  models: number;
  hiddenDims: number[];
  /** Host time of `create`: until the model is returned (its initial weights are then queued on the GPU, not drawn). */
  hostMs: number;
  /** hostMs / models. */
  hostMsPerNet: number;
  /**
   * Of hostMs, the time inside `device.createBuffer` (the stores): a CPU adapter allocates and zeroes the memory on the
   * calling thread, as long as touching it once; a GPU driver only books it.
   */
  allocMs: number;
  /** Until the GPU has run everything queued (the draws): `onSubmittedWorkDone` after `create`. */
  readyMs: number;
}

/**
 * Run `run` with the device's method `name` timed: the milliseconds spent inside it (the method is restored after).
 *   const { result, ms } = await timeCalls(gpu.device, 'createBuffer', () => FullyConnectedPopulation.create(gpu, dims, o));
 *   ms; // host time spent allocating buffers
 */
async function timeCalls<T>(device: GPUDevice, name: 'createBuffer', run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const original = device[name];
  let ms = 0;
  device[name] = function (this: GPUDevice, ...args: Parameters<GPUDevice['createBuffer']>) {
    const t = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      ms += performance.now() - t;
    }
  };
  try {
    return { result: await run(), ms };
  } finally {
    delete (device as Partial<GPUDevice>)[name];
    if (device[name] !== original) device[name] = original; // an own property before: put it back
  }
}

/**
 * Time building populations of [50]x7 batchnorm nets (20, 100, 400; with `--sizes large` also 1000) and one [4096]x3 net.
 *   const rows = await timeBuilds(gpu, [20, 100], log);
 *   rows[1].hostMs; // host ms of FullyConnectedPopulation.create for 100 nets
 */
export async function timeBuilds(gpu: GpuContext, sizes: readonly number[], log: (line: string) => void): Promise<BuildFigure[]> {
  const out: BuildFigure[] = [];
  const builds: [number[], number, () => Promise<{ destroy(): Promise<void> }>][] = [
    ...sizes.map((models): [number[], number, () => Promise<FullyConnectedPopulation>] => [
      hiddenDims,
      models,
      () =>
        FullyConnectedPopulation.create(gpu, hiddenDims, {
          useBatchnorm: true,
          members: Array.from({ length: models }, (_, k) => ({ weightScale: 2e-2, seed: k })),
        }),
    ]),
    [[4096, 4096, 4096], 1, () => FullyConnectedNeuralNet.create(gpu, [4096, 4096, 4096], { useBatchnorm: true, seed: 1 })],
  ];
  for (const [dims, models, build] of builds) {
    await gpu.device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    const { result: model, ms: allocMs } = await timeCalls(gpu.device, 'createBuffer', build);
    const hostMs = performance.now() - t0;
    await gpu.device.queue.onSubmittedWorkDone();
    const readyMs = performance.now() - t0;
    await model.destroy();
    out.push({ models, hiddenDims: dims, hostMs, hostMsPerNet: hostMs / models, allocMs, readyMs });
    const what = models === 1 ? `one [${dims[0]}]x${dims.length} net` : `${models} [50]x7 batchnorm nets`;
    log(
      `building ${what}: ${hostMs.toFixed(0)} ms host (${(hostMs / models).toFixed(2)} ms a net; ${allocMs.toFixed(0)} ms of it in createBuffer), ready on the GPU at ${readyMs.toFixed(0)} ms`,
    );
  }
  return out;
}

/**
 * Time populations of 1 and 20 nets (with `--sizes large` also 100, 400 and 1000), Adam 1e-3, batch 50; then building
 * alone (`timeBuilds`: populationBuild rows).
 *   const { population, populationBuild } = await populationSection.run(gpu, { ...opts, sizes: 'large' });
 *   population[4].msPerStep; // 1000 nets a step
 */
export const populationSection: BenchSection = {
  name: 'population',
  async run(gpu, opts) {
    const data = makeBenchData(7);
    const steps = Math.max(10, opts.reps);
    const out: PopulationFigure[] = [];
    for (const models of opts.sizes === 'large' ? [1, 20, 100, 400, 1000] : [1, 20]) {
      const rows = makeBenchIndices(3 + steps, batch);
      const t0 = performance.now();
      const pop = await FullyConnectedPopulation.create(gpu, hiddenDims, {
        useBatchnorm: true,
        backwardVariant: 'graph',
        members: Array.from({ length: models }, (_, k) => ({ weightScale: 2e-2, seed: k })),
      });
      try {
        await pop.attachData(data);
        await pop.setUpdateRule('adam', { learningRate: 1e-3 });
        await pop.stepModels(rows[0]!);
        const buildMs = performance.now() - t0;
        await pop.stepModels(rows[1]!);
        await pop.stepModels(rows[2]!);
        const t1 = performance.now();
        const losses = await Promise.all(rows.slice(3).map((r) => pop.stepModels(r)));
        const msPerStep = (performance.now() - t1) / steps;
        if (!losses.every((l) => l.every(Number.isFinite))) throw new Error(`population bench: a non-finite loss with ${models} models`);
        out.push({ models, hiddenDims, useBatchnorm: true, batch, steps, buildMs, msPerStep });
        opts.log(`population of ${models} [50]x7 batchnorm: ${msPerStep.toFixed(2)} ms/step, built in ${buildMs.toFixed(0)} ms`);
      } finally {
        await pop.destroy();
      }
    }
    const populationBuild = await timeBuilds(gpu, opts.sizes === 'large' ? [20, 100, 400, 1000] : [20, 100, 400], opts.log);
    return { population: out, populationBuild, ...(await timePopulationGroups(gpu, opts)) };
  },
};
