// The page's side of the experiments (demo/experiments/): the environment a panel runs them in, with the CPU net in a Web Worker.
import type { DemoContext } from './context.ts';
import { createCpuModel } from './cpu-model.ts';
import { yieldToEventLoop } from './dom.ts';
import type { DeviceHooks, ExperimentEnv } from './experiments/common.ts';

export { createGate, pauseGate, resumeGate, stopGate, type ModelLabel, type SolverGate, type TrainRecord } from './experiments/common.ts';

let deviceHooks: DeviceHooks | undefined;

/** Install the page's device hooks (main.ts): every training run recovers through them. */
export function setDeviceHooks(hooks: DeviceHooks): void {
  deviceHooks = hooks;
}

/**
 * Where a panel's run trains now: the model the page's choice names, its device, the float64 CPU reference in a
 * Web Worker (so the page never blocks), and a yield between CPU steps.
 *   const r = await runBatchnormExperiment(settings, data, pageEnv(ctx), hooks);
 */
export function pageEnv(ctx: DemoContext): ExperimentEnv {
  return {
    kind: ctx.modelKind(),
    gpu: ctx.gpu,
    gpuError: ctx.gpuError,
    yieldToEventLoop,
    device: deviceHooks,
    cpuNet: (o) =>
      createCpuModel(o.hiddenDims, {
        normalization: o.normalization ?? null,
        activation: o.activation,
        weightScale: o.weightScale,
        seed: o.seed,
        backwardVariant: o.backwardVariant,
      }),
  };
}
