// Benchmark section: ms per Adam step of the seed's 6-layer net [100]x5 at batch 50, with and without batchnorm (and TF.js beside it); wide nets with --sizes large.
import { FullyConnectedNeuralNet } from '../../src/index.ts';
import type { BenchSection } from './types.ts';
import { probeSteps, type StepProbe } from '../step-probe.ts';
import type { ApiCounts } from '../api-counter.ts';

export interface TrainingFigure {
  net: string;
  hiddenDims: number[];
  batch: number;
  useBatchnorm: boolean;
  backwardVariant: 'graph' | 'alternative';
  /** Wall clock per step over `steps` queued steps, up to the last loss read back. */
  msPerStep: number;
  steps: number;
  /** Host ms per step from its first WebGPU call to its submit's return (JS plus Dawn calls): the median over `steps` queued steps. */
  hostMsPerStep: number;
  /** WebGPU calls per step (encoders, pass, queue, readback), amortized over the submits; `callsPerStep` call by call. */
  apiCallsPerStep: number;
  callsPerStep: ApiCounts;
  /** Median GPU ms of a step's compute pass (timestamp queries), null where the adapter has no `timestamp-query`. */
  gpuMsPerStep: number | null;
  dispatchesPerStep: number;
  /** The same step, `stepsPerSubmit` of them in one submit (GraphModel.stepMany, as the Solver runs them on a fast GPU): wall clock and the probe's figures, all per step. */
  multiStep: StepProbe & { msPerStep: number; submits: number };
  tfjsMsPerStep: number | null;
  /** A host checkpoint (params, state, Adam's m and v in one submit, mapAsync) on a quiet queue: median ms, and its bytes. */
  checkpointMs: number;
  checkpointBytes: number;
}

/** The rows a training peer trains on: the bench's data and its minibatches (3 warm-up steps, then the timed ones). */
export interface TrainingRows {
  data: ReturnType<typeof makeBenchData>;
  /** One minibatch of row indices a step: `indices[0..2]` warm up, `indices[3 + i]` is timed step i. */
  indices: Uint32Array[];
}

/** The peer trains the same network with its own ops, on the same data and minibatches as ours; it throws on a non-finite loss. */
export interface TrainingPeer {
  name: string;
  msPerStep(
    spec: { hiddenDims: number[]; useBatchnorm: boolean; batch: number; inputDim: number; numClasses: number },
    steps: number,
    rows: TrainingRows,
  ): Promise<number>;
}

const rows = 1000;

/**
 * The training data of the bench: `rows` uint8 images then their labels from one seeded generator, the mean image 127.5
 * (bench/peers/torch-peer.py makes the same numbers).
 *   const data = makeBenchData(7);
 *   data.XTrain.shape; // [1000, 3, 32, 32]
 */
export function makeBenchData(seed: number) {
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
 * `count` batches of `batch` row indices from the seed-1 generator (s % 1000), as the PyTorch peer draws them.
 *   const rows = makeBenchIndices(13, 50);
 *   rows[0].length; // 50
 */
export function makeBenchIndices(count: number, batch: number): Uint32Array[] {
  let s = 1;
  return Array.from({ length: count }, () =>
    Uint32Array.from({ length: batch }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % rows;
    }),
  );
}

type Config = { hiddenDims: number[]; batch: number; useBatchnorm: boolean; backwardVariant: 'graph' | 'alternative' };

/** [100]x5 at batch 50 each way; `large` adds [1024]x5 at batch 1024 and [4096]x3 at batch 4096 (batchnorm, both backward variants). */
function makeConfigs(sizes: 'default' | 'large' | undefined): Config[] {
  const small = [100, 100, 100, 100, 100];
  const out: Config[] = [
    { hiddenDims: small, batch: 50, useBatchnorm: true, backwardVariant: 'alternative' },
    { hiddenDims: small, batch: 50, useBatchnorm: true, backwardVariant: 'graph' },
    { hiddenDims: small, batch: 50, useBatchnorm: false, backwardVariant: 'graph' },
  ];
  if (sizes === 'large')
    for (const [w, depth] of [
      [1024, 5],
      [4096, 3],
    ] as const)
      for (const backwardVariant of ['alternative', 'graph'] as const)
        out.push({ hiddenDims: Array(depth).fill(w), batch: w, useBatchnorm: true, backwardVariant });
  return out;
}

/** Steps a submit in the bench's multi-step figures (the Solver's 'auto' cap), and the submits timed. */
const multi = { stepsPerSubmit: 8, submits: 4 };

/** Wall clock and probe figures of `multi.submits` submits of `multi.stepsPerSubmit` steps each (rows taken round the list), after one to build the group. */
async function probeMultiStep(net: FullyConnectedNeuralNet, rows: Uint32Array[]): Promise<TrainingFigure['multiStep']> {
  const { stepsPerSubmit: k, submits } = multi;
  const group = (i: number) => net.stepMany(Array.from({ length: k }, (_, j) => rows[(i * k + j) % rows.length]!));
  await group(0);
  const t0 = performance.now();
  const last = (await Promise.all(Array.from({ length: submits }, (_, i) => group(i)))).flat();
  const msPerStep = (performance.now() - t0) / (submits * k);
  if (!last.every(Number.isFinite))
    throw new Error(`training bench: non-finite loss ${last.find((l) => !Number.isFinite(l))} (${k} steps a submit)`);
  return { ...(await probeSteps(net.gpu, group, submits, k)), msPerStep, submits };
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
    const data = makeBenchData(7);
    const steps = Math.max(10, opts.reps * 2);
    const out: TrainingFigure[] = [];
    for (const { hiddenDims, batch, ...c } of makeConfigs(opts.sizes)) {
      const indices = makeBenchIndices(3 + steps, batch);
      const net = await FullyConnectedNeuralNet.create(gpu, hiddenDims, { ...c, weightScale: 2e-2, seed: 1 });
      try {
        await net.attachData(data);
        await net.setUpdateRule('adam', { learningRate: 1e-3 });
        for (let i = 0; i < 3; i++) await net.step(indices[i]!);
        const submits0 = gpu.stats.submits;
        const t0 = performance.now();
        const losses: Promise<number>[] = [];
        for (let i = 0; i < steps; i++) losses.push(net.step(indices[3 + i]!));
        const last = await Promise.all(losses);
        const msPerStep = (performance.now() - t0) / steps;
        if (!last.every(Number.isFinite)) throw new Error(`training bench: non-finite loss ${last.find((l) => !Number.isFinite(l))}`);
        if (gpu.stats.submits - submits0 !== steps)
          throw new Error(`training bench: ${gpu.stats.submits - submits0} submits for ${steps} steps`);
        const probe = await probeSteps(gpu, (i) => net.step(indices[3 + i]!), steps);
        const multiStep = await probeMultiStep(net, indices.slice(3));
        const reads: number[] = [];
        for (let i = 0; i < 5; i++) reads.push((await net.checkpoint(steps)).readMs);
        const checkpointMs = reads.sort((a, b) => a - b)[2]!;
        const checkpointBytes = net.checkpointed!.bytes;
        const tfjsMsPerStep =
          peer && c.backwardVariant === 'graph'
            ? await peer.msPerStep({ hiddenDims, useBatchnorm: c.useBatchnorm, batch, inputDim: 3072, numClasses: 10 }, steps, {
                data,
                indices,
              })
            : null;
        const fig: TrainingFigure = {
          net: `[${hiddenDims[0]}]x${hiddenDims.length}${c.useBatchnorm ? ' batchnorm' : ''}`,
          hiddenDims,
          batch,
          ...c,
          msPerStep,
          steps,
          ...probe,
          dispatchesPerStep: await net.dispatchesPerStep(batch),
          multiStep,
          tfjsMsPerStep,
          checkpointMs,
          checkpointBytes,
        };
        opts.log(
          `training ${fig.net} (${c.useBatchnorm ? c.backwardVariant : 'no bn'}), batch ${batch}: ${msPerStep.toFixed(2)} ms/step (host ${probe.hostMsPerStep.toFixed(3)} ms, GPU ${probe.gpuMsPerStep?.toFixed(3) ?? '-'} ms), ${fig.dispatchesPerStep} dispatches, ${probe.apiCallsPerStep.toFixed(1)} API calls; ${multiStep.stepsPerSubmit} steps a submit: ${multiStep.msPerStep.toFixed(2)} ms/step (host ${multiStep.hostMsPerStep.toFixed(3)} ms), ${multiStep.apiCallsPerStep.toFixed(1)} API calls; checkpoint ${checkpointMs.toFixed(2)} ms (${(checkpointBytes / 2 ** 20).toFixed(2)} MiB)` +
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
