// One training of one network with the Solver (GPU or float64 CPU reference), as the demo page and the benchmarks both run it.
import type { GpuContext } from '../gpu/device.ts';
import { encodeSafetensors } from '../graph/safetensors.ts';
import { FullyConnectedNeuralNet as ReferenceNet, type Activation, type Normalization } from '../reference/fc-net.ts';
import { createReferenceTrainer } from '../solver/reference-trainer.ts';
import type { SolverData, TrainableModel } from '../solver/model.ts';
import type { Recovery } from '../solver/recovery.ts';
import { Solver, type SolverOptions, type SolverProgress, type SolverResult } from '../solver/solver.ts';
import { FullyConnectedNeuralNet } from './fc-net.ts';

/** 'gpu': the WebGPU FullyConnectedNeuralNet; 'cpu': the float64 reference on the CPU. */
export type ModelKind = 'gpu' | 'cpu';

/** The network options both kinds take; the batchnorm backward is always named. */
export interface NetChoice {
  hiddenDims: number[];
  /** 'batchnorm', 'layernorm' or null (none) before each ReLU; `useBatchnorm` is the seed's alias (a contradiction is an error). */
  normalization?: Normalization;
  useBatchnorm?: boolean;
  /** The hidden layers' nonlinearity: 'relu' (default) or 'gelu'. */
  activation?: Activation;
  weightScale: number;
  seed: number;
  backwardVariant: 'graph' | 'alternative';
  reg?: number;
  inputDim?: number;
  numClasses?: number;
  /** CPU kind: awaited between steps and accuracy chunks, so a page stays responsive. */
  yieldToEventLoop?: () => Promise<void>;
}

/** A network the Solver trains, plus what a caller does with it afterwards. */
export interface TrainedNet {
  model: TrainableModel;
  kind: ModelKind;
  /** The parameters and running statistics as safetensors, under one naming convention for both kinds. */
  saveSafetensors(): Promise<Uint8Array>;
  /** Free the model's copy of the training data (the GPU network's upload); the parameters stay. */
  releaseData(): Promise<void>;
  destroy(): void;
}

/** Rows per CPU accuracy chunk: small enough that a page stays responsive between chunks. */
const cpuAccuracyChunk = 100;

/**
 * The network options of a run, for either kind (and a population's shared ones): the choice's, with the seed's
 * defaults (no L2, CIFAR-10's 3072 inputs and 10 classes).
 *   new reference.FullyConnectedNeuralNet([100], netOptions(choice));
 */
export function netOptions(o: Omit<NetChoice, 'weightScale' | 'yieldToEventLoop'> & { weightScale?: number }) {
  return {
    normalization: o.normalization,
    useBatchnorm: o.useBatchnorm,
    activation: o.activation,
    weightScale: o.weightScale,
    seed: o.seed,
    backwardVariant: o.backwardVariant,
    reg: o.reg ?? 0,
    inputDim: o.inputDim ?? 3072,
    numClasses: o.numClasses ?? 10,
  };
}

function createCpuNet(o: NetChoice): TrainedNet {
  const net = new ReferenceNet(o.hiddenDims, netOptions(o));
  const inner = createReferenceTrainer(net);
  const pause = o.yieldToEventLoop ?? (async () => {});
  const model: TrainableModel = {
    ...inner,
    async step(indices) {
      await pause();
      return inner.step(indices);
    },
    async accuracy(split, indices) {
      let correct = 0;
      for (let i = 0; i < indices.length; i += cpuAccuracyChunk) {
        await pause();
        const chunk = indices.subarray(i, i + cpuAccuracyChunk);
        correct += Math.round((await inner.accuracy(split, chunk)) * chunk.length);
      }
      return correct / indices.length;
    },
  };
  return {
    model,
    kind: 'cpu',
    releaseData: async () => {},
    saveSafetensors: async () =>
      encodeSafetensors(net.namedTensors(), {
        model: 'FullyConnectedNeuralNet (float64 reference)',
        hiddenDims: JSON.stringify(o.hiddenDims),
      }),
    destroy() {},
  };
}

/**
 * Make a network for the Solver: the WebGPU net, or the float64 reference.
 *   const m = await createTrainableNet('gpu', gpu, { hiddenDims: [100, 100], useBatchnorm: true, weightScale: 2e-2, seed: 0, backwardVariant: 'graph' });
 *   await new Solver(m.model, data, { updateRule: 'adam' }).train(); m.destroy();
 */
export async function createTrainableNet(
  kind: ModelKind,
  gpu: GpuContext | null,
  o: NetChoice & { cpuNet?: (o: NetChoice) => TrainedNet },
): Promise<TrainedNet> {
  if (kind === 'cpu') return (o.cpuNet ?? createCpuNet)(o);
  if (!gpu) throw new Error('no WebGPU device: choose the CPU reference');
  const net = await FullyConnectedNeuralNet.create(gpu, o.hiddenDims, netOptions(o));
  return {
    model: net,
    kind: 'gpu',
    saveSafetensors: () => net.saveSafetensors(),
    releaseData: () => net.releaseData(),
    destroy: () => void net.destroy(),
  };
}

/** What one training leaves behind: the Solver's histories and the seed's summary figures. */
export interface TrainRecord {
  label: string;
  kind: ModelKind;
  normalization: Normalization;
  /** The hidden layers' nonlinearity (a population's records leave it out: ReLU). */
  activation?: Activation;
  batchSize: number;
  weightScale: number;
  backwardVariant: 'graph' | 'alternative';
  status: SolverResult['status'];
  divergedAt?: number;
  message: string;
  iterations: number;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestTrainAcc: number;
  /** Mean of the last 100 losses (the seed's "final training loss"). */
  finalLoss: number;
  seconds: number;
  stepsPerSecond: number;
  /** GPU device losses the run survived (each went on from a host checkpoint on a new device). */
  recoveries: Recovery[];
  /** With status 'device-lost': the host checkpoint's iteration the saved parameters come from. */
  checkpointIteration?: number;
}

/**
 * Mean of the last `k` values (all when fewer), as the seed's `np.mean(loss_history[-100:])`.
 *   meanOfLast([1, 2, 3], 2); // 2.5
 *   meanOfLast([]);           // NaN
 */
export function meanOfLast(values: number[], k = 100): number {
  const tail = values.slice(-k);
  return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
}

export interface TrainOneArgs extends NetChoice {
  kind: ModelKind;
  gpu: GpuContext | null;
  data: SolverData;
  /** Name of the run in its record (e.g. 'batchnorm', 'baseline'). */
  label: string;
  /** The Solver's settings (Adam 1e-3 on batches of 50 for 10 epochs in the seed). */
  updateRule: string;
  learningRate: number;
  batchSize: number;
  numEpochs: number;
  numTrainSamples?: number | null;
  numValSamples?: number | null;
  /** The CPU kind's network instead of the in-thread reference (a page passes one that runs in a Web Worker). */
  cpuNet?: (o: NetChoice) => TrainedNet;
  /** Called with the Solver before it starts (a page keeps it to pause or stop it). */
  onSolver?: (solver: Solver) => void;
  onProgress?: (p: SolverProgress, solver: Solver) => void;
  /** The Solver's device-loss settings: 'recover' (default) or 'stop', where a new device comes from, a callback per recovery. */
  onDeviceLost?: SolverOptions['onDeviceLost'];
  requestDevice?: SolverOptions['requestDevice'];
  onRecovery?: SolverOptions['onRecovery'];
  /** Training steps per submit (the Solver's option; default 'auto': up to 8 on a fast GPU, one where a step is slow). */
  stepsPerSubmit?: SolverOptions['stepsPerSubmit'];
}

/** The normalization a trained net has: the GPU net's own, else the choice (the alias resolved as the reference does). */
function normalizationOf(net: TrainedNet, o: NetChoice): Normalization {
  const own = (net.model as { normalization?: Normalization }).normalization;
  if (own !== undefined) return own;
  return o.normalization !== undefined ? o.normalization : o.useBatchnorm ? 'batchnorm' : null;
}

/**
 * Train one network with the seed's Solver and return its record and the trained network (alive, for export).
 *   const { record, net } = await trainOne({ kind: 'gpu', gpu, data, label: 'batchnorm', hiddenDims: [100, 100], useBatchnorm: true, weightScale: 2e-2, seed: 0, backwardVariant: 'graph', updateRule: 'adam', learningRate: 1e-3, batchSize: 50, numEpochs: 10 });
 *   net.destroy();
 */
export async function trainOne(a: TrainOneArgs): Promise<{ record: TrainRecord; net: TrainedNet }> {
  const net = await createTrainableNet(a.kind, a.gpu, a);
  try {
    const solver: Solver = new Solver(net.model, a.data, { ...runSolverOptions(a), onProgress: (p) => a.onProgress?.(p, solver) });
    a.onSolver?.(solver);
    const r = await solver.train();
    if (r.status !== 'device-lost') await net.releaseData(); // the trained model is kept for its parameters, not for another copy of the data
    const record: TrainRecord = {
      label: a.label,
      kind: a.kind,
      normalization: normalizationOf(net, a),
      activation: a.activation ?? 'relu',
      batchSize: a.batchSize,
      weightScale: a.weightScale,
      backwardVariant: a.backwardVariant,
      status: r.status,
      divergedAt: r.divergedAt,
      message: r.message,
      iterations: r.iterations,
      ...runFigures({ loss: solver.lossHistory, trainAcc: solver.trainAccHistory, valAcc: solver.valAccHistory }, r),
    };
    return { record, net };
  } catch (e) {
    net.destroy();
    throw e;
  }
}

/** What a run's Solver is told (trainOne's and trainPopulation's): the seed's settings, quiet, the device-loss choices. */
type RunSettings = Pick<
  TrainOneArgs,
  'updateRule' | 'learningRate' | 'batchSize' | 'numEpochs' | 'numTrainSamples' | 'numValSamples' | 'seed'
> &
  Pick<SolverOptions, 'onDeviceLost' | 'requestDevice' | 'onRecovery' | 'stepsPerSubmit'>;

/**
 * The Solver options of one run (a PopulationSolver takes the same): cs231n's 1000 training rows per check unless told,
 * quiet, the device-loss settings and the steps per submit passed on.
 *   new Solver(model, data, { ...runSolverOptions(args), onProgress });
 */
export function runSolverOptions(a: RunSettings): SolverOptions {
  return {
    updateRule: a.updateRule,
    optimConfig: { learningRate: a.learningRate },
    batchSize: a.batchSize,
    numEpochs: a.numEpochs,
    numTrainSamples: a.numTrainSamples === undefined ? 1000 : a.numTrainSamples,
    numValSamples: a.numValSamples ?? null,
    verbose: false,
    printEvery: 200,
    seed: a.seed,
    onDeviceLost: a.onDeviceLost,
    requestDevice: a.requestDevice,
    onRecovery: a.onRecovery,
    stepsPerSubmit: a.stepsPerSubmit,
  };
}

/**
 * A record's histories (copied) and the seed's summary figures, from one model's histories and its run's end.
 *   runFigures({ loss: [2.3, 2.1], trainAcc: [0.1], valAcc: [0.12] }, { seconds: 1, iterations: 2, recoveries: [] }).finalLoss; // 2.2
 */
export function runFigures(
  h: { loss: readonly number[]; trainAcc: readonly number[]; valAcc: readonly number[] },
  r: { seconds: number; iterations: number; recoveries: Recovery[]; checkpointIteration?: number },
): Pick<
  TrainRecord,
  | 'lossHistory'
  | 'trainAccHistory'
  | 'valAccHistory'
  | 'bestValAcc'
  | 'bestTrainAcc'
  | 'finalLoss'
  | 'seconds'
  | 'stepsPerSecond'
  | 'recoveries'
  | 'checkpointIteration'
> {
  return {
    lossHistory: h.loss.slice(),
    trainAccHistory: h.trainAcc.slice(),
    valAccHistory: h.valAcc.slice(),
    bestValAcc: h.valAcc.length ? Math.max(...h.valAcc) : NaN,
    bestTrainAcc: h.trainAcc.length ? Math.max(...h.trainAcc) : NaN,
    finalLoss: meanOfLast([...h.loss]),
    seconds: r.seconds,
    stepsPerSecond: r.iterations / Math.max(r.seconds, 1e-9),
    recoveries: r.recoveries,
    checkpointIteration: r.checkpointIteration,
  };
}
