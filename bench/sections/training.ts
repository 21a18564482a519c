// Benchmark section: ms per Adam step of the seed's 6-layer net [100]x5 at batch 50, with and without batchnorm (and TF.js beside it).
import { FullyConnectedNeuralNet } from '../../src/index.ts';
import type { BenchSection } from './types.ts';

export interface TrainingFigure {
  net: string;
  batch: number;
  useBatchnorm: boolean;
  backwardVariant: 'graph' | 'alternative';
  /** Wall clock per step over `steps` queued steps, up to the last loss read back. */
  msPerStep: number;
  steps: number;
  dispatchesPerStep: number;
  tfjsMsPerStep: number | null;
  /** A host checkpoint (params, state, Adam's m and v in one submit, mapAsync) on a quiet queue: median ms, and its bytes. */
  checkpointMs: number;
  checkpointBytes: number;
}

/** The peer trains the same network with its own ops (TF.js needs the browser: null elsewhere). */
export interface TrainingPeer {
  name: string;
  msPerStep(
    spec: { hiddenDims: number[]; useBatchnorm: boolean; batch: number; inputDim: number; numClasses: number },
    steps: number,
  ): Promise<number>;
}

const hiddenDims = [100, 100, 100, 100, 100];
const rows = 1000;

function makeData(seed: number) {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  const images = Uint8Array.from({ length: rows * 3072 }, () => next() >>> 24);
  const labels = Uint8Array.from({ length: rows }, () => next() % 10);
  const mean = new Float32Array(3072).fill(127.5);
  return {
    XTrain: { data: images, shape: [rows, 3, 32, 32] },
    yTrain: labels,
    XVal: { data: images, shape: [rows, 3, 32, 32] },
    yVal: labels,
    meanImage: mean,
  };
}

/**
 * Time training steps of [100]x5 at batch 50 (Adam 1e-3): batchnorm with each backward variant, and without.
 *   const { training } = await trainingSection.run(gpu, opts);
 *   training[0].msPerStep;
 */
export const trainingSection: BenchSection = {
  name: 'training',
  async run(gpu, opts) {
    const peer = opts.peers.tfjsTraining;
    const data = makeData(7);
    const batch = 50;
    const steps = Math.max(10, opts.reps * 2);
    const out: TrainingFigure[] = [];
    const configs = [
      { useBatchnorm: true, backwardVariant: 'alternative' as const },
      { useBatchnorm: true, backwardVariant: 'graph' as const },
      { useBatchnorm: false, backwardVariant: 'graph' as const },
    ];
    let s = 1;
    const indices = () =>
      Uint32Array.from({ length: batch }, () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s % rows;
      });
    for (const c of configs) {
      const net = await FullyConnectedNeuralNet.create(gpu, hiddenDims, { ...c, weightScale: 2e-2, seed: 1 });
      try {
        await net.attachData(data);
        await net.setUpdateRule('adam', { learningRate: 1e-3 });
        for (let i = 0; i < 3; i++) await net.step(indices());
        const submits0 = gpu.stats.submits;
        const t0 = performance.now();
        const losses: Promise<number>[] = [];
        for (let i = 0; i < steps; i++) losses.push(net.step(indices()));
        const last = await Promise.all(losses);
        const msPerStep = (performance.now() - t0) / steps;
        if (!last.every(Number.isFinite)) throw new Error(`training bench: non-finite loss ${last.find((l) => !Number.isFinite(l))}`);
        if (gpu.stats.submits - submits0 !== steps)
          throw new Error(`training bench: ${gpu.stats.submits - submits0} submits for ${steps} steps`);
        const reads: number[] = [];
        for (let i = 0; i < 5; i++) reads.push((await net.checkpoint(steps)).readMs);
        const checkpointMs = reads.sort((a, b) => a - b)[2]!;
        const checkpointBytes = net.checkpointed!.bytes;
        const tfjsMsPerStep =
          peer && c.backwardVariant === 'graph'
            ? await peer.msPerStep({ hiddenDims, useBatchnorm: c.useBatchnorm, batch, inputDim: 3072, numClasses: 10 }, steps)
            : null;
        const fig: TrainingFigure = {
          net: `[100]x5${c.useBatchnorm ? ' batchnorm' : ''}`,
          batch,
          ...c,
          msPerStep,
          steps,
          dispatchesPerStep: await net.dispatchesPerStep(batch),
          tfjsMsPerStep,
          checkpointMs,
          checkpointBytes,
        };
        opts.log(
          `training ${fig.net} (${c.useBatchnorm ? c.backwardVariant : 'no bn'}), batch ${batch}: ${msPerStep.toFixed(2)} ms/step, ${fig.dispatchesPerStep} dispatches, checkpoint ${checkpointMs.toFixed(2)} ms (${(checkpointBytes / 2 ** 20).toFixed(2)} MiB)` +
            (tfjsMsPerStep !== null ? `; ${peer!.name} ${tfjsMsPerStep.toFixed(1)} ms/step` : ''),
        );
        out.push(fig);
      } finally {
        await net.destroy();
      }
    }
    return { training: out };
  },
};
