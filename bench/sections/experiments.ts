// Benchmark section: the seed's two experiments end to end on the GPU (batchnorm vs baseline; the 40-run weight-scale sweep), wall clock.
import { trainOne } from '../../src/index.ts';
import type { SolverData, GpuContext } from '../../src/index.ts';
import type { BenchSection } from './types.ts';

export interface ExperimentRun {
  useBatchnorm: boolean;
  weightScale: number;
  backwardVariant: string;
  status: string;
  bestValAcc: number;
  bestTrainAcc: number;
  finalLoss: number;
}

/** The batchnorm backward of these runs: the demo page's (demo/experiments/common.ts pageBackwardVariant), named so the figures say which. */
const backwardVariant = 'graph';

/** Train one model with the seed's settings (Adam 1e-3, batch 50, 10 epochs) through the library's trainOne, returning its figures. */
async function runOne(
  gpu: GpuContext,
  data: SolverData,
  hiddenDims: number[],
  useBatchnorm: boolean,
  weightScale: number,
  seed: number,
): Promise<ExperimentRun> {
  const { record, net } = await trainOne({
    kind: 'gpu',
    gpu,
    data,
    label: useBatchnorm ? 'batchnorm' : 'baseline',
    hiddenDims,
    useBatchnorm,
    weightScale,
    seed,
    backwardVariant,
    updateRule: 'adam',
    learningRate: 1e-3,
    batchSize: 50,
    numEpochs: 10,
  });
  net.destroy();
  return {
    useBatchnorm,
    weightScale,
    backwardVariant,
    status: record.status,
    bestValAcc: record.bestValAcc,
    bestTrainAcc: record.bestTrainAcc,
    finalLoss: record.finalLoss,
  };
}

/**
 * Time experiment 1 (hidden [100]x5, 2 models x 200 steps + accuracy checks) and the sweep (20 scales x 2 models of [50]x7).
 * Needs `opts.loadData` (1000 training + 1000 validation CIFAR-10 images); reports "not available" without it.
 *   const { experiments } = await experimentsSection.run(gpu, { ...opts, loadData });
 *   experiments.batchnormSeconds;
 */
export const experimentsSection: BenchSection = {
  name: 'experiments',
  async run(gpu, opts) {
    if (!opts.loadData) return { experiments: 'not available: this runner has no CIFAR-10 loader' };
    const data = await opts.loadData();
    const t0 = performance.now();
    const exp1 = [
      await runOne(gpu, data, [100, 100, 100, 100, 100], true, 2e-2, 0),
      await runOne(gpu, data, [100, 100, 100, 100, 100], false, 2e-2, 0),
    ];
    const batchnormSeconds = (performance.now() - t0) / 1000;
    opts.log(
      `experiment 1 (batchnorm vs baseline): ${batchnormSeconds.toFixed(2)} s; best val acc bn ${exp1[0]!.bestValAcc}, baseline ${exp1[1]!.bestValAcc}`,
    );
    const scales = Array.from({ length: 20 }, (_, i) => 10 ** (-4 + (4 * i) / 19));
    const t1 = performance.now();
    const sweep: ExperimentRun[] = [];
    for (const ws of scales) {
      for (const bn of [true, false]) sweep.push(await runOne(gpu, data, [50, 50, 50, 50, 50, 50, 50], bn, ws, 0));
    }
    const sweepSeconds = (performance.now() - t1) / 1000;
    opts.log(
      `experiment 2 (weight-scale sweep, ${sweep.length} trainings): ${sweepSeconds.toFixed(2)} s; diverged: ${sweep.filter((r) => r.status === 'diverged').length}`,
    );
    return { experiments: { batchnormSeconds, sweepSeconds, experiment1: exp1, sweep } };
  },
};
