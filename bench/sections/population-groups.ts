// Benchmark lines of populations in groups: the largest population of [50]x7 nets that fits the device (planPopulationGroups), and a split population timed beside one group.
import { PopulationGroups, planPopulationGroups, requestGpu, type GpuContext, type PopulationGroupPlan } from '../../src/index.ts';
import { makeBenchData, makeBenchIndices } from './training.ts';
import type { BenchOptions } from './types.ts';

const hiddenDims = [50, 50, 50, 50, 50, 50, 50];
const batch = 50;
/** WebGPU's default limits: what a laptop's browser often grants. */
const defaultLimits = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 };

export interface GroupsRow {
  /** 'split': in groups (at the default limits, or forced); 'one group': the same models in one population. */
  form: 'split' | 'one group';
  models: number;
  groups: number[];
  /** Creating the groups, attaching the data, the update rule and the first (compiling) step. */
  buildMs: number;
  msPerStep: number;
  dispatchesPerStep: number;
}

export interface GroupsFigure {
  /** The plan at this device's limits and memory budget, and at WebGPU's default limits. */
  here: Pick<PopulationGroupPlan, 'modelsPerGroup' | 'maxModels' | 'binding' | 'limit' | 'budgetFrom' | 'memoryBudget'>;
  atDefaultLimits: Pick<PopulationGroupPlan, 'modelsPerGroup' | 'maxModels'>;
  bytesPerModel: number;
  rows: GroupsRow[];
  /** Largest |loss difference| / loss of the split population against one group over the timed steps (0: bit for bit). */
  lossDiff: number;
}

/**
 * Report the largest population of [50]x7 batchnorm nets (Adam, batch 50) this device and WebGPU's default limits hold,
 * then time a split population beside the same models in one group: with `--sizes large` 2·(one default binding's
 * models) + 10 nets in 3 groups on a device requested at the default limits; otherwise 20 nets forced into groups of 7.
 *   const { populationGroups } = await timePopulationGroups(gpu, opts);
 *   populationGroups.rows[0].groups; // e.g. [190, 190, 10]
 */
export async function timePopulationGroups(gpu: GpuContext, opts: BenchOptions): Promise<{ populationGroups: GroupsFigure }> {
  const net = { dims: [3072, ...hiddenDims, 10], normalization: 'batchnorm' as const, updateRule: 'adam', batchSize: batch };
  const here = planPopulationGroups(gpu.device.limits, net, { memoryBudget: gpu.memoryBudget });
  const atDefault = planPopulationGroups(defaultLimits, net);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  opts.log(
    `largest population of [50]x7 batchnorm nets (Adam, batch ${batch}; ${(here.perModel.total / 2 ** 20).toFixed(2)} MiB a net, data excluded): ` +
      `${here.modelsPerGroup} a group under this device's ${here.limit} (${mib(here.binding)}), ${here.maxModels} in the ${here.budgetFrom} budget (${mib(here.memoryBudget)}); ` +
      `at WebGPU's default limits ${atDefault.modelsPerGroup} a group`,
  );
  const large = opts.sizes === 'large';
  const models = large ? 2 * atDefault.modelsPerGroup + 10 : 20;
  const small = large ? await requestGpu({ requiredLimits: defaultLimits }) : gpu;
  const data = makeBenchData(7);
  const steps = large ? 3 : Math.max(5, opts.reps);
  const rows: GroupsRow[] = [];
  const losses: Float64Array[][] = [];
  const forms: [GroupsRow['form'], GpuContext, number | undefined][] = [['split', small, large ? undefined : 7]];
  if (models <= here.modelsPerGroup) forms.push(['one group', gpu, models]);
  else opts.log(`(${models} nets do not fit one group on this device: no one-group row)`);
  try {
    for (const [form, device, maxModelsPerGroup] of forms) {
      const indices = makeBenchIndices(3 + steps, batch);
      const t0 = performance.now();
      const pop = await PopulationGroups.create(device, hiddenDims, {
        useBatchnorm: true,
        members: Array.from({ length: models }, (_, k) => ({ weightScale: 2e-2, seed: k })),
        maxModelsPerGroup,
        batchSize: batch,
      });
      try {
        await pop.attachData(data);
        await pop.setUpdateRule('adam', { learningRate: 1e-3 });
        await pop.stepModels(indices[0]!);
        const buildMs = performance.now() - t0;
        await pop.stepModels(indices[1]!);
        await pop.stepModels(indices[2]!);
        const t1 = performance.now();
        losses.push(await Promise.all(indices.slice(3).map((r) => pop.stepModels(r))));
        const msPerStep = (performance.now() - t1) / steps;
        const row = {
          form,
          models,
          groups: pop.groups.map((p) => p.models),
          buildMs,
          msPerStep,
          dispatchesPerStep: await pop.dispatchesPerStep(batch),
        };
        rows.push(row);
        opts.log(
          `population of ${models} [50]x7 batchnorm in ${row.groups.length} group${row.groups.length > 1 ? 's' : ''} [${row.groups.join(', ')}]: ` +
            `${msPerStep.toFixed(1)} ms/step, built in ${buildMs.toFixed(0)} ms, ${row.dispatchesPerStep} dispatches/step`,
        );
      } finally {
        await pop.destroy();
      }
    }
  } finally {
    if (small !== gpu) small.device.destroy();
  }
  let lossDiff = 0;
  if (losses.length === 2)
    losses[0]!.forEach((step, j) =>
      step.forEach((l, k) => (lossDiff = Math.max(lossDiff, Math.abs(l - losses[1]![j]![k]!) / Math.abs(l)))),
    );
  const { modelsPerGroup, maxModels, binding, limit, budgetFrom, memoryBudget } = here;
  return {
    populationGroups: {
      here: { modelsPerGroup, maxModels, binding, limit, budgetFrom, memoryBudget },
      atDefaultLimits: { modelsPerGroup: atDefault.modelsPerGroup, maxModels: atDefault.maxModels },
      bytesPerModel: here.perModel.total,
      rows,
      lossDiff,
    },
  };
}
