// One PopulationSolver run of M nets that differ in weight scale (and seed, reg, learning rate): the batched form of trainOne.
import type { GpuContext } from '../gpu/device.ts';
import type { SolverData } from '../solver/model.ts';
import { PopulationSolver, type PopulationProgress, type PopulationSolverOptions } from '../solver/population-solver.ts';
import type { PopulationMember } from './population.ts';
import { PopulationGroups } from './population-groups.ts';
import { netOptions, runFigures, runSolverOptions, type NetChoice, type TrainRecord } from './train-one.ts';

export interface TrainPopulationArgs extends Omit<NetChoice, 'weightScale' | 'yieldToEventLoop'> {
  gpu: GpuContext;
  data: SolverData;
  /** One per model: its own weight scale, and optionally seed (default `seed`) and reg. */
  members: (PopulationMember & { weightScale: number })[];
  /** Name of the runs in their records (e.g. 'batchnorm', 'baseline'). */
  label: string;
  updateRule: string;
  learningRate: number;
  /** One learning rate per model instead of `learningRate` for all. */
  learningRates?: number[];
  batchSize: number;
  numEpochs: number;
  numTrainSamples?: number | null;
  numValSamples?: number | null;
  /** After a device loss: recover (default) or stop; where a new device comes from; who is told (as trainOne's). */
  onDeviceLost?: PopulationSolverOptions['onDeviceLost'];
  requestDevice?: PopulationSolverOptions['requestDevice'];
  onRecovery?: PopulationSolverOptions['onRecovery'];
  /** Called with the solver before it starts (a page keeps it to pause or stop it). */
  onSolver?: (solver: PopulationSolver) => void;
  onProgress?: (p: PopulationProgress, solver: PopulationSolver) => void;
}

/**
 * Train every member with one PopulationSolver (one plan and one submit per step for all) and return one record
 * per member, as trainOne's (its `seconds` is the whole population's time), and the population (alive, for export; in
 * groups where one storage binding cannot hold it).
 *   const { records, population } = await trainPopulation({ gpu, data, label: 'batchnorm', hiddenDims: [50, 50], useBatchnorm: true, members: scales.map((weightScale) => ({ weightScale })), seed: 0, backwardVariant: 'graph', updateRule: 'adam', learningRate: 1e-3, batchSize: 50, numEpochs: 10 });
 *   await population.destroy();
 */
export async function trainPopulation(a: TrainPopulationArgs): Promise<{ records: TrainRecord[]; population: PopulationGroups }> {
  // in as many groups as the device's binding limits need (one where the population fits one)
  const population = await PopulationGroups.create(a.gpu, a.hiddenDims, {
    ...netOptions(a),
    members: a.members,
    batchSize: Math.max(a.batchSize, 1000),
  });
  try {
    const solver: PopulationSolver = new PopulationSolver(population, a.data, {
      ...runSolverOptions(a),
      learningRates: a.learningRates,
      onProgress: (p) => a.onProgress?.(p, solver),
    });
    a.onSolver?.(solver);
    const r = await solver.train();
    await population.releaseData();
    const records = r.members.map((m, k): TrainRecord => ({
      label: a.label,
      kind: 'gpu',
      normalization: population.normalization,
      activation: a.activation ?? 'relu',
      batchSize: a.batchSize,
      weightScale: a.members[k]!.weightScale,
      backwardVariant: population.backwardVariant,
      status: (r.status === 'failed' || r.status === 'device-lost') && m.status !== 'diverged' ? r.status : m.status,
      divergedAt: m.divergedAt,
      message: (r.status === 'failed' || r.status === 'device-lost') && m.status !== 'diverged' ? r.message : m.message,
      iterations: m.iterations,
      ...runFigures({ loss: solver.lossHistories[k]!, trainAcc: solver.trainAccHistories[k]!, valAcc: solver.valAccHistories[k]! }, r),
    }));
    return { records, population };
  } catch (e) {
    await population.destroy();
    throw e;
  }
}
