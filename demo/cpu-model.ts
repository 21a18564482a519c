// The float64 CPU reference network as the page's Solver sees it: every step and accuracy check runs in cpu-worker.ts.
import type { SolverData, TrainableModel } from '../src/index.ts';
import type { CpuWorkerMethod, CpuWorkerReply, CpuWorkerRequest } from './cpu-worker.ts';
import { encodeSafetensors } from './export.ts';
import type { DemoModel, ModelOptions } from './models.ts';

type Tensor = { data: Float64Array; shape: number[] };

/** A typed array with a buffer of its own (a view would send its whole buffer, e.g. every loaded image), plus what to transfer. */
function own<T extends Uint8Array | Float32Array | Float64Array>(a: T, transfer: ArrayBuffer[]): T {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) return a;
  const copy = a.slice() as T;
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}

/** The Solver's data with compact arrays, and the copies that can move to the worker without a second copy. */
function compactData(d: SolverData): { data: SolverData; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const labels = (y: ArrayLike<number>) => (ArrayBuffer.isView(y) ? own(y as Uint8Array, transfer) : Array.from(y));
  return {
    data: {
      XTrain: { data: own(d.XTrain.data, transfer), shape: [...d.XTrain.shape] },
      yTrain: labels(d.yTrain),
      XVal: { data: own(d.XVal.data, transfer), shape: [...d.XVal.shape] },
      yVal: labels(d.yVal),
      ...(d.meanImage ? { meanImage: d.meanImage } : {}),
    },
    transfer,
  };
}

/**
 * The reference net in a Web Worker behind the Solver's TrainableModel: the page only posts messages, so it never blocks;
 * pause and stop are the Solver's own, as on the GPU. `destroy()` ends the worker.
 *   const m = createCpuModel([100, 100], { normalization: 'batchnorm', weightScale: 2e-2, seed: 0 });
 *   await new Solver(m.model, data, { updateRule: 'adam' }).train(); m.destroy();
 */
export function createCpuModel(hiddenDims: number[], options: ModelOptions): DemoModel {
  const worker = new Worker(new URL('./cpu-worker.ts', import.meta.url), { type: 'module', name: 'cpu-reference' });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failure: Error | null = null;
  const failAll = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.onmessage = (e: MessageEvent<CpuWorkerReply>) => {
    const r = e.data;
    const p = pending.get(r.id);
    pending.delete(r.id);
    if (r.ok) p?.resolve(r.value);
    else p?.reject(new Error(r.message));
  };
  worker.onerror = (e) => {
    e.preventDefault();
    failAll(new Error(`the CPU reference worker failed: ${e.message || 'it could not be loaded'}`));
  };
  const call = <T>(method: CpuWorkerMethod, args: unknown[] = [], transfer: Transferable[] = []): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies CpuWorkerRequest, transfer);
    });
  };
  // A bad option fails `create` in the worker; the worker then answers every later call with that error.
  call('create', [
    hiddenDims,
    {
      normalization: options.normalization,
      activation: options.activation ?? 'relu',
      weightScale: options.weightScale,
      seed: options.seed,
      reg: options.reg ?? 0,
      inputDim: options.inputDim ?? 3072,
      numClasses: options.numClasses ?? 10,
      backwardVariant: options.backwardVariant ?? 'graph',
    },
  ]).catch(() => {});
  const model: TrainableModel = {
    attachData: (d) => {
      const { data, transfer } = compactData(d);
      return call('attachData', [data], transfer);
    },
    setUpdateRule: (rule, config) => call('setUpdateRule', [rule, config]),
    // the Solver does not wait for this one; a failure is kept and fails the next call
    setLearningRate: (lr) => {
      call('setLearningRate', [lr]).catch((e: Error) => {
        failure ??= e;
      });
    },
    step: (indices) => call<number>('step', [indices]),
    accuracy: (split, indices) => call<number>('accuracy', [split, indices]),
    snapshot: () => call('snapshot'),
    restore: (s) => call('restore', [s]),
  };
  return {
    model,
    kind: 'cpu',
    async saveSafetensors() {
      const { params, bn } = await call<{
        params: Record<string, Tensor>;
        bn: { runningMean?: Float64Array; runningVar?: Float64Array }[];
      }>('export');
      const tensors: Record<string, { data: ArrayLike<number>; shape: number[] }> = { ...params };
      // the GPU model's names (runningMean1, ...), so either model's file loads into the other
      bn.forEach((b, i) => {
        if (b.runningMean) tensors[`runningMean${i + 1}`] = { data: b.runningMean, shape: [b.runningMean.length] };
        if (b.runningVar) tensors[`runningVar${i + 1}`] = { data: b.runningVar, shape: [b.runningVar.length] };
      });
      return encodeSafetensors(tensors, { model: 'FullyConnectedNeuralNet (float64 reference)', hiddenDims: hiddenDims.join(',') });
    },
    releaseData: () => call('releaseData'),
    destroy() {
      worker.terminate();
      failAll(new Error('the CPU reference network was destroyed'));
    },
  };
}
