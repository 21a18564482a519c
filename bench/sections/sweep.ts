// Benchmark section: the seed's weight-scale sweep trained sequentially (40 Solver runs) and batched (two populations of 20), in one run.
import { FullyConnectedNeuralNet, FullyConnectedPopulation, trainOne, trainPopulation } from '../../src/index.ts';
import { isCpuAdapter } from '../../src/engine.ts';
import type { GpuContext, SolverData, TrainRecord } from '../../src/index.ts';
import type { BenchSection } from './types.ts';

/** The seed's sweep: [50]x7 nets at 20 weight scales from 1e-4 to 1, each with batchnorm and without. */
export const sweepHiddenDims = [50, 50, 50, 50, 50, 50, 50];
const hiddenDims = sweepHiddenDims;
const backwardVariant = 'graph';
export const sweepScales = Array.from({ length: 20 }, (_, i) => 10 ** (-4 + (4 * i) / 19));
const scales = sweepScales;

/** The seed's Solver settings (Adam 1e-3, batch 50), for `numEpochs`. */
const solverSettings = (numEpochs: number) => ({ updateRule: 'adam', learningRate: 1e-3, batchSize: 50, numEpochs });

/** Sequential: one trainOne per (scale, network), as the page's sequential sweep. */
async function sequential(gpu: GpuContext, data: SolverData, numEpochs: number): Promise<TrainRecord[][]> {
  const out: TrainRecord[][] = [[], []];
  for (const ws of scales) {
    for (const [i, useBatchnorm] of [true, false].entries()) {
      const { record, net } = await trainOne({
        kind: 'gpu',
        gpu,
        data,
        label: useBatchnorm ? 'batchnorm' : 'baseline',
        hiddenDims,
        useBatchnorm,
        weightScale: ws,
        seed: 0,
        backwardVariant,
        ...solverSettings(numEpochs),
      });
      net.destroy();
      out[i]!.push(record);
    }
  }
  return out;
}

/** Batched: one population per network, every scale in it; also the GPU bytes per model and the largest population the binding limit allows. */
async function batched(gpu: GpuContext, data: SolverData, numEpochs: number) {
  const out: TrainRecord[][] = [];
  let bytesPerModel = 0;
  let maxModels = 0;
  for (const useBatchnorm of [true, false]) {
    const before = gpu.stats.bytesLive;
    const { records, population } = await trainPopulation({
      gpu,
      data,
      label: useBatchnorm ? 'batchnorm' : 'baseline',
      hiddenDims,
      useBatchnorm,
      seed: 0,
      backwardVariant,
      members: scales.map((weightScale) => ({ weightScale })),
      ...solverSettings(numEpochs),
    });
    // parameters, gradients, state, the update rule's slots and the compiled plans' buffers (the data was released)
    bytesPerModel = Math.max(bytesPerModel, (gpu.stats.bytesLive - before) / scales.length);
    // the update binds a group's whole parameter store: the most models one storage binding holds (planPopulationGroups)
    maxModels = Math.max(maxModels, population.plan.modelsPerGroup);
    await population.destroy();
    out.push(records);
  }
  return { records: out, bytesPerModel, maxModels };
}

/**
 * The training steps alone (no accuracy checks, no net building): `steps` steps of each of the 40 nets one after
 * another, then of the two populations, on the same rows; milliseconds from the first step to the last loss.
 */
async function stepsOnly(gpu: GpuContext, data: SolverData, steps: number): Promise<{ sequentialMs: number; batchedMs: number }> {
  const rows = Array.from({ length: steps }, (_, t) =>
    Uint32Array.from({ length: 50 }, (_, i) => (t * 50 + i * 7) % data.XTrain.shape[0]!),
  );
  const run = async (model: {
    attachData(d: SolverData): Promise<void>;
    setUpdateRule(r: string, c: Record<string, number>): Promise<void>;
    stepModels(i: Uint32Array): Promise<Float64Array>;
    destroy(): Promise<void>;
  }) => {
    await model.attachData(data);
    await model.setUpdateRule('adam', { learningRate: 1e-3 });
    await model.stepModels(rows[0]!); // compiles the plan: not timed
    const t = performance.now();
    await Promise.all(rows.map((r) => model.stepModels(r)));
    const ms = performance.now() - t;
    await model.destroy();
    return ms;
  };
  let sequentialMs = 0;
  for (const ws of scales)
    for (const useBatchnorm of [true, false])
      sequentialMs += await run(await FullyConnectedNeuralNet.create(gpu, hiddenDims, { useBatchnorm, weightScale: ws, backwardVariant }));
  let batchedMs = 0;
  for (const useBatchnorm of [true, false])
    batchedMs += await run(
      await FullyConnectedPopulation.create(gpu, hiddenDims, {
        useBatchnorm,
        backwardVariant,
        members: scales.map((weightScale) => ({ weightScale })),
      }),
    );
  return { sequentialMs, batchedMs };
}

/** The seed's conclusions in a sweep's records: at 1e-4 the baseline stays at chance and batchnorm learns; the baseline's loss explodes at the large scales. */
function conclusions(records: TrainRecord[][]) {
  const [bn, base] = records as [TrainRecord[], TrainRecord[]];
  const large = scales.map((s, i) => ({ s, loss: base[i]!.finalLoss, status: base[i]!.status })).filter((r) => r.s > 0.2);
  return {
    baselineLossAt1e4: base[0]!.finalLoss,
    batchnormLossAt1e4: bn[0]!.finalLoss,
    baselineAtChance: Math.abs(base[0]!.finalLoss - Math.log(10)) < 0.01,
    batchnormLearnsAt1e4: bn[0]!.finalLoss < Math.log(10) - 0.05,
    baselineAboveScale02: large.map((r) => ({ weightScale: r.s, finalLoss: r.loss, status: r.status })),
  };
}

/**
 * `npm run bench -- --only sweep`: the seed's sweep (20 scales x batchnorm/baseline of [50]x7, Adam 1e-3, batch 50,
 * 1000 training images) sequential then batched, same data, same seeds; 10 epochs (200 steps a model) on a GPU,
 * 1 epoch (20 steps) on a CPU adapter unless `opts.sweepEpochs` says (`--sweep-epochs 10`: the seed's), the same for
 * both. Needs `opts.loadData`.
 *   const { sweep } = await sweepSection.run(gpu, { ...opts, loadData });
 *   sweep.speedup; // sequentialMs / batchedMs
 */
export const sweepSection: BenchSection = {
  name: 'sweep',
  async run(gpu, opts) {
    if (!opts.loadData) return { sweep: 'not available: this runner has no CIFAR-10 loader' };
    const data = await opts.loadData();
    const numEpochs = opts.sweepEpochs ?? (isCpuAdapter(gpu.adapter) ? 1 : 10);
    const steps = numEpochs * Math.floor(data.XTrain.shape[0]! / 50);
    opts.log(`sweep: ${scales.length * 2} models x ${steps} steps, sequential...`);
    const t0 = performance.now();
    const seq = await sequential(gpu, data, numEpochs);
    const sequentialMs = performance.now() - t0;
    opts.log(`sweep sequential: ${(sequentialMs / 1000).toFixed(2)} s; batched...`);
    const t1 = performance.now();
    const bat = await batched(gpu, data, numEpochs);
    const batchedMs = performance.now() - t1;
    opts.log(`sweep batched: ${(batchedMs / 1000).toFixed(2)} s`);
    // the two ways train the same nets: the largest relative loss difference over every step of every model
    // (f32 rounding differs where the two sum in another order, e.g. split-K; a batchnorm net at a tiny weight
    // scale amplifies it over the steps: its first steps agree to ~1e-7, later ones drift, as two f32 runs do)
    let maxLossDiff = 0;
    let maxFirstStepLossDiff = 0;
    seq.forEach((list, i) =>
      list.forEach((r, k) =>
        r.lossHistory.forEach((l, j) => {
          const b = bat.records[i]![k]!.lossHistory[j];
          if (b === undefined || !Number.isFinite(l)) return;
          maxLossDiff = Math.max(maxLossDiff, Math.abs(b - l) / Math.abs(l));
          if (j === 0) maxFirstStepLossDiff = Math.max(maxFirstStepLossDiff, Math.abs(b - l) / Math.abs(l));
        }),
      ),
    );
    const steps10 = await stepsOnly(gpu, data, 10);
    opts.log(
      `sweep steps alone (10 a model): sequential ${(steps10.sequentialMs / 1000).toFixed(2)} s, batched ${(steps10.batchedMs / 1000).toFixed(2)} s`,
    );
    const { vendor, architecture, description } = gpu.adapter;
    return {
      sweep: {
        models: scales.length * 2,
        steps,
        epochs: numEpochs,
        sequentialMs,
        batchedMs,
        speedup: sequentialMs / batchedMs,
        stepsOnly: { steps: 10, ...steps10, speedup: steps10.sequentialMs / steps10.batchedMs },
        bytesPerModel: Math.round(bat.bytesPerModel),
        maxModels: bat.maxModels,
        maxLossDiff,
        maxFirstStepLossDiff,
        adapter: `${vendor} / ${architecture} ${description}`.trim(),
        sequential: conclusions(seq),
        batched: conclusions(bat.records),
      },
    };
  },
};
