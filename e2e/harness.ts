// The browser side of the e2e tests: the whole library (both entries, the public API and the engine) on `window.lib`, one GPU context on `window.gpuReady`, error measures on `window.check`.
import * as api from '../src/index.ts';
import * as engine from '../src/engine.ts';
import { makeQuadrantData, makeSmallRun } from './model-setup.ts';

const lib = { ...engine, ...api };

/** Error measures the kernel specs use inside the page (NaN propagates: an unwritten, poisoned output fails). */
const check = {
  /** The float64 value of each element rounded to f32 (what the GPU is given). */
  f32: (a: ArrayLike<number>): Float64Array => Float64Array.from(Float32Array.from(a)),
  /** max_i |got_i - want_i| / mag(i): the error relative to the magnitude of the operands that were rounded. */
  bounded(got: ArrayLike<number>, want: ArrayLike<number>, mag: (i: number) => number): number {
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const e = Math.abs(got[i]! - want[i]!) / Math.max(mag(i), 1e-30);
      if (!(e <= worst)) worst = e;
    }
    return worst;
  },
  /** max_i |got_i - want_i| / max_i |want_i|. */
  scaled(got: ArrayLike<number>, want: ArrayLike<number>): number {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      const e = Math.abs(got[i]! - want[i]!);
      if (!(e <= diff)) diff = e;
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    return diff / scale;
  },
  /**
   * ‖got − want‖ / ‖want‖, or ‖got − want‖ where ‖want‖ < 1e-10 (a bias right before batchnorm has an exactly-zero
   * gradient: there the GPU's must be ~0 in absolute terms).
   */
  normRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
    let num = 0;
    let den = 0;
    for (let i = 0; i < want.length; i++) {
      num += (got[i]! - want[i]!) ** 2;
      den += want[i]! ** 2;
    }
    return Math.sqrt(den) < 1e-10 ? Math.sqrt(num) : Math.sqrt(num / den);
  },
};

/**
 * The set-up the specs repeat: host data up, outputs poisoned with NaN (an output a kernel leaves unwritten then
 * fails its check, since NaN propagates through every error measure), results back; the model specs' data and run.
 */
const setup = {
  /** A storage buffer holding `data` as f32. */
  upload: (scope: engine.GpuScope, data: ArrayLike<number>, label: string): GPUBuffer =>
    scope.createTensorBuffer(Float32Array.from(data), label),
  /** A storage buffer of `count` f32, every one NaN. */
  poisoned: (scope: engine.GpuScope, count: number, label: string): GPUBuffer =>
    scope.createTensorBuffer(new Float32Array(count).fill(NaN), label),
  /** Overwrite the first `count` f32 of a buffer with NaN (before a kernel that must write them). */
  poison: (gpu: api.GpuContext, buffer: GPUBuffer, count: number): void =>
    gpu.device.queue.writeBuffer(buffer, 0, new Float32Array(count).fill(NaN)),
  /** `count` f32 read back. */
  read: (gpu: api.GpuContext, buffer: engine.TensorRef, count: number): Promise<Float32Array> => engine.readF32(gpu, buffer, count),
  /** The model specs' toy data and small run (e2e/model-setup.ts). */
  quadrants: makeQuadrantData,
  smallRun: makeSmallRun,
};

declare global {
  interface Window {
    lib: typeof lib;
    gpuReady: Promise<api.GpuContext>;
    check: typeof check;
    setup: typeof setup;
  }
}

window.lib = lib;
window.check = check;
window.setup = setup;
window.gpuReady = lib.requestGpu({ debug: true });
const el = document.querySelector('[data-testid=adapter]')!;
window.gpuReady.then(
  (gpu) => {
    el.textContent = `${gpu.adapter.vendor} / ${gpu.adapter.architecture} (timestamp-query: ${gpu.hasTimestampQuery})`;
  },
  (e: Error) => {
    el.textContent = `error: ${e.message}`;
  },
);
