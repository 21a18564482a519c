// The one place the demo makes a trainable network: the WebGPU FullyConnectedNeuralNet, or the float64 CPU reference (in a Web Worker).
import * as lib from '../src/index.ts';
import type { GpuContext } from '../src/gpu/index.ts';
import type { Normalization } from '../src/index.ts';
import type { TrainableModel } from '../src/solver/index.ts';
import { createCpuModel } from './cpu-model.ts';

export type ModelKind = 'gpu' | 'cpu';

export interface ModelOptions {
  /** 'batchnorm', 'layernorm' or null (none) before each ReLU. */
  normalization: Normalization;
  weightScale: number;
  seed: number;
  reg?: number;
  inputDim?: number;
  numClasses?: number;
  backwardVariant?: 'graph' | 'alternative';
}

/** A network the Solver trains, plus what the page does with it afterwards. */
export interface DemoModel {
  model: TrainableModel;
  kind: ModelKind;
  /** The trained parameters (and batchnorm running statistics) as a .safetensors file. */
  saveSafetensors(): Promise<Uint8Array>;
  /** Free the model's copy of the training data (the GPU network's upload); the parameters stay. */
  releaseData(): Promise<void>;
  destroy(): void;
}

/** The GPU network's static factory as the lead's src/nn/fc-net.ts exports it. */
interface GpuNetClass {
  create(gpu: GpuContext, hiddenDims: number[], options: ModelOptions): Promise<TrainableModel & {
    saveSafetensors(): Promise<Uint8Array>;
    releaseData(): Promise<void>;
    destroy(): void;
  }>;
}

function gpuNetClass(): GpuNetClass | null {
  const c = (lib as Record<string, unknown>)['FullyConnectedNeuralNet'] as Partial<GpuNetClass> | undefined;
  return c && typeof c.create === 'function' ? (c as GpuNetClass) : null;
}

/** Whether this build has the WebGPU network (src/nn/fc-net.ts); without it the page trains on the CPU. */
export function gpuNetAvailable(): boolean {
  return gpuNetClass() !== null;
}

/**
 * Make a network for the Solver: `kind` 'gpu' is the WebGPU network, 'cpu' the float64 reference.
 *   const m = await createModel('gpu', gpu, [100, 100], { normalization: 'batchnorm', weightScale: 2e-2, seed: 0 });
 *   await new Solver(m.model, data, { updateRule: 'adam' }).train(); m.destroy();
 */
export async function createModel(kind: ModelKind, gpu: GpuContext | null, hiddenDims: number[], options: ModelOptions): Promise<DemoModel> {
  if (kind === 'cpu') return createCpuModel(hiddenDims, options);
  const Gpu = gpuNetClass();
  if (!Gpu) throw new Error('the WebGPU FullyConnectedNeuralNet is not in this build (src/nn/fc-net.ts); choose the CPU reference');
  if (!gpu) throw new Error('no WebGPU device: choose the CPU reference');
  const net = await Gpu.create(gpu, hiddenDims, {
    inputDim: 3072, numClasses: 10, reg: 0, backwardVariant: 'graph', ...options,
  });
  return { model: net, kind: 'gpu', saveSafetensors: () => net.saveSafetensors(), releaseData: () => net.releaseData(), destroy: () => net.destroy() };
}
