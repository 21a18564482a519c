// The page's side of the experiments (demo/experiments/): the environment a panel runs them in (the CPU net in a Web Worker), and a training panel's form, gate and run control.
import type { DemoContext } from './context.ts';
import { createCpuModel } from './cpu-model.ts';
import { yieldToEventLoop } from './dom.ts';
import {
  createGate,
  pauseGate,
  resumeGate,
  stopGate,
  type DeviceHooks,
  type ExperimentEnv,
  type SolverGate,
} from './experiments/common.ts';
import { createRunControl, type RunControl } from './run-control.ts';
import { createSettingsForm, type SettingsForm } from './settings-form.ts';
import type { PanelName, PanelSettings } from './url-state.ts';
import { solverDataOf } from './dataset.ts';
import type { SolverData } from '../src/index.ts';

export type { ModelLabel, SolverGate, TrainRecord } from './experiments/common.ts';

let deviceHooks: DeviceHooks | undefined;

/**
 * Install the page's device hooks (main.ts): every training run recovers through them.
 *   setDeviceHooks({ requestDevice, notice, loseAt: state.loseGpuAt, lose });
 *   pageEnv(ctx).device; // those hooks
 */
export function setDeviceHooks(hooks: DeviceHooks): void {
  deviceHooks = hooks;
}

/**
 * Where a panel's run trains now: the model the page's choice names, its device, the float64 CPU reference in a
 * Web Worker (so the page never blocks), and a yield between CPU steps.
 *   const r = await runBatchnormExperiment(settings, data, pageEnv(ctx), hooks);
 *   pageEnv(ctx).kind; // 'gpu' or 'cpu', as the page's choice says
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

/** A training panel's settings form, the solver gate its runs take, its run control, and the start of a run. */
export interface TrainingControls {
  form: SettingsForm;
  gate: SolverGate;
  control: RunControl;
  /**
   * Read the form (its error throws), disable it, wait for CIFAR-10's splits, renew the gate, then run `body` with the
   * settings, the data and the page's environment; the form is enabled again however the run ends.
   */
  startRun(body: (s: PanelSettings, data: SolverData, env: ExperimentEnv) => Promise<void>): Promise<void>;
}

/**
 * A training panel's settings form (its sizes checked against the GPU's limits while the page trains on the GPU) and its
 * run control, whose Pause, Resume and Stop act on a fresh solver gate (between submits); `start` runs on Start.
 *   const { gate, control, startRun } = createTrainingControls(root, ctx, 'sweep', 'sweep', () => startRun(runSweepHere));
 *   await control.run();
 */
export function createTrainingControls(
  root: HTMLElement,
  ctx: DemoContext,
  panel: PanelName,
  id: string,
  start: () => Promise<void>,
): TrainingControls {
  const limits = () => (ctx.modelKind() === 'gpu' ? (ctx.gpu?.device.limits ?? null) : null);
  const form = createSettingsForm(root, panel, ctx.state.panels[panel], () => ctx.syncUrl(), limits);
  const gate = createGate();
  const control = createRunControl(root, id, {
    start,
    pause: () => pauseGate(gate),
    resume: () => resumeGate(gate),
    stop: () => stopGate(gate),
  });
  const startRun: TrainingControls['startRun'] = async (body) => {
    const s = form.read();
    form.setDisabled(true);
    try {
      const env = pageEnv(ctx);
      control.setDetail('waiting for CIFAR-10 (see the CIFAR-10 box above: it loads from the server, or drop the files there)…');
      const data = solverDataOf(await ctx.dataset(), s.numTrain as number, s.numVal as number);
      Object.assign(gate, createGate());
      await body(s, data, env);
    } finally {
      form.setDisabled(false);
    }
  };
  return { form, gate, control, startRun };
}
