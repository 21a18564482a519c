// The browser side of the e2e tests: the whole library on `window.lib`, one GPU context on `window.gpuReady`.
import * as lib from '../src/index.ts';

declare global {
  interface Window {
    lib: typeof lib;
    gpuReady: Promise<lib.GpuContext>;
  }
}

window.lib = lib;
window.gpuReady = lib.requestGpu({ debug: true });
const el = document.querySelector('[data-testid=adapter]')!;
window.gpuReady.then(
  (gpu) => { el.textContent = `${gpu.adapter.vendor} / ${gpu.adapter.architecture} (timestamp-query: ${gpu.hasTimestampQuery})`; },
  (e: Error) => { el.textContent = `error: ${e.message}`; },
);
