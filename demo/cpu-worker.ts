// The demo's float64 CPU training off the main thread: a Web Worker holding the reference network, driven by cpu-model.ts.
import { createReferenceTrainer, reference, type TrainableModel } from '../src/index.ts';

/** A request from the page: call `method` of the worker's model with `args`; answered with the same `id`. */
export interface CpuWorkerRequest {
  id: number;
  method: CpuWorkerMethod;
  args: unknown[];
}
/** The answer: the method's value, or the message of what it threw. */
export type CpuWorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

type Trainer = ReturnType<typeof createReferenceTrainer>;
type NetOptions = ConstructorParameters<typeof reference.FullyConnectedNeuralNet>[1];

let trainer: Trainer | null = null;
/** The network, kept for export once releaseData has dropped the trainer (and the data it holds). */
let net: InstanceType<typeof reference.FullyConnectedNeuralNet> | null = null;
let createFailure: Error | null = null;

function need(): Trainer {
  if (createFailure) throw createFailure;
  if (!trainer)
    throw new Error(net ? 'CPU worker: the training data was released (releaseData)' : 'CPU worker: no network yet (create comes first)');
  return trainer;
}

/** What the page can ask: make the network, the Solver's TrainableModel methods, and the parameters for export. */
const methods = {
  create(hiddenDims: number[], options: NetOptions): void {
    try {
      const made = new reference.FullyConnectedNeuralNet(hiddenDims, options);
      trainer = createReferenceTrainer(made);
      net = made;
    } catch (e) {
      createFailure = e as Error;
      throw e;
    }
  },
  attachData: (...a: Parameters<TrainableModel['attachData']>) => need().attachData(...a),
  setUpdateRule: (...a: Parameters<TrainableModel['setUpdateRule']>) => need().setUpdateRule(...a),
  setLearningRate: (lr: number) => need().setLearningRate(lr),
  step: (indices: Uint32Array) => need().step(indices),
  accuracy: (split: 'train' | 'val', indices: Uint32Array) => need().accuracy(split, indices),
  snapshot: () => need().snapshot(),
  restore: (s: unknown) => need().restore(s),
  /** Drop the worker's copy of the training data; the parameters stay for export. */
  releaseData(): void {
    need();
    trainer = null;
  },
  /** The trained parameters and batchnorm running statistics (copied to the page by postMessage). */
  export() {
    if (!net) need();
    return { params: net!.params, bn: net!.bnParams.map((b) => ({ runningMean: b.runningMean, runningVar: b.runningVar })) };
  },
};
export type CpuWorkerMethod = keyof typeof methods;

const scope = self as unknown as { postMessage(m: CpuWorkerReply): void; onmessage: ((e: MessageEvent<CpuWorkerRequest>) => void) | null };
// One request at a time, in the order sent (the Solver queues steps ahead of their losses).
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  const { id, method, args } = e.data;
  queue = queue.then(async () => {
    try {
      const fn = methods[method] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) throw new Error(`CPU worker: unknown method "${method}"`);
      scope.postMessage({ id, ok: true, value: await fn(...args) });
    } catch (err) {
      scope.postMessage({ id, ok: false, message: (err as Error).message ?? String(err) });
    }
  });
};
