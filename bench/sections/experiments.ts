// Benchmark section: the seed's two experiments end to end on the GPU (batchnorm vs baseline; the 40-run weight-scale sweep), wall clock.
import { FullyConnectedNeuralNet } from '../../src/nn/fc-net.ts';
import { Solver } from '../../src/solver/solver.ts';
import type { SolverData } from '../../src/solver/model.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import type { BenchSection } from './types.ts';

export interface ExperimentRun { useBatchnorm: boolean; weightScale: number; status: string; bestValAcc: number; bestTrainAcc: number; finalLoss: number }

/** Train one model with the seed's settings (Adam 1e-3, batch 50, 10 epochs), returning its figures. */
async function trainOne(gpu: GpuContext, data: SolverData, hiddenDims: number[], useBatchnorm: boolean, weightScale: number, seed: number): Promise<ExperimentRun> {
  const net = await FullyConnectedNeuralNet.create(gpu, hiddenDims, { useBatchnorm, weightScale, seed, backwardVariant: 'alternative' });
  try {
    const solver = new Solver(net, data, { updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, batchSize: 50, numEpochs: 10, verbose: false, seed });
    const r = await solver.train();
    const tail = solver.lossHistory.slice(-100);
    return {
      useBatchnorm, weightScale, status: r.status, bestValAcc: Math.max(...solver.valAccHistory),
      bestTrainAcc: Math.max(...solver.trainAccHistory), finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    };
  } finally {
    await net.destroy();
  }
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
    const exp1 = [await trainOne(gpu, data, [100, 100, 100, 100, 100], true, 2e-2, 0), await trainOne(gpu, data, [100, 100, 100, 100, 100], false, 2e-2, 0)];
    const batchnormSeconds = (performance.now() - t0) / 1000;
    opts.log(`experiment 1 (batchnorm vs baseline): ${batchnormSeconds.toFixed(2)} s; best val acc bn ${exp1[0]!.bestValAcc}, baseline ${exp1[1]!.bestValAcc}`);
    const scales = Array.from({ length: 20 }, (_, i) => 10 ** (-4 + (4 * i) / 19));
    const t1 = performance.now();
    const sweep: ExperimentRun[] = [];
    for (const ws of scales) {
      for (const bn of [true, false]) sweep.push(await trainOne(gpu, data, [50, 50, 50, 50, 50, 50, 50], bn, ws, 0));
    }
    const sweepSeconds = (performance.now() - t1) / 1000;
    opts.log(`experiment 2 (weight-scale sweep, ${sweep.length} trainings): ${sweepSeconds.toFixed(2)} s; diverged: ${sweep.filter((r) => r.status === 'diverged').length}`);
    return { experiments: { batchnormSeconds, sweepSeconds, experiment1: exp1, sweep } };
  },
};
