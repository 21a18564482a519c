// Benchmark section: populations of [50]x7 batchnorm nets trained as one (FullyConnectedPopulation), ms per step and build time by population size.
import { FullyConnectedPopulation } from '../../src/index.ts';
import { makeBenchData, makeBenchIndices } from './training.ts';
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

/**
 * Time populations of 1 and 20 nets (with `--sizes large` also 100, 400 and 1000), Adam 1e-3, batch 50.
 *   const { population } = await populationSection.run(gpu, { ...opts, sizes: 'large' });
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
    return { population: out };
  },
};
