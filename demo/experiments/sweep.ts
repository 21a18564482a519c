// Experiment 2 (the seed's "batch normalization and initialization"), DOM-free: both networks at each weight scale, with a swappable trainer.
import { planPopulationGroups, trainPopulation, type GpuContext, type SolverData } from '../../src/index.ts';
import type { PanelSettings } from '../url-state.ts';
import {
  adapterRecord,
  iterationsOf,
  joinGate,
  loseDeviceAt,
  pageBackwardVariant,
  trainOne,
  whereOf,
  type ExperimentEnv,
  type ModelLabel,
  type ProgressSink,
  type SolverGate,
  type TrainRecord,
} from './common.ts';

/**
 * numpy's logspace(from, to, num): num points evenly spaced in log10 from 10^from to 10^to.
 *   logspace(-4, 0, 3); // [1e-4, 1e-2, 1]
 */
export function logspace(from: number, to: number, num: number): number[] {
  if (num === 1) return [10 ** from];
  return Array.from({ length: num }, (_, i) => 10 ** (from + (i * (to - from)) / (num - 1)));
}

/** The seed's order at each scale: the batchnorm network, then the baseline. */
export const sweepLabels: ModelLabel[] = ['batchnorm', 'baseline'];

/** One scale's pair of runs. */
export interface ScaleResult {
  weightScale: number;
  runs: Partial<Record<ModelLabel, TrainRecord>>;
}

/** One network of the sweep's population: which scale (index into the results) and which model. */
export interface SweepMember {
  scaleIndex: number;
  weightScale: number;
  label: ModelLabel;
}

/** What a population trainer is given: the settings, the data, where to run, and where to report. */
export interface PopulationRun {
  settings: PanelSettings;
  data: SolverData;
  env: ExperimentEnv;
  gate: SolverGate;
  /** Steps done by the whole population so far (of `members.length * iterationsOf(settings)`). */
  onSteps(done: number): void;
  /** Say what trains now ("weight scale 3 / 20: baseline network"). */
  onDetail(text: string): void;
  /** One member's record, as soon as it is known. */
  onRecord(member: SweepMember, record: TrainRecord): void;
  /** Wall time spent on one network kind (added up per label for the results' secondsPerNetwork). */
  addSeconds(label: ModelLabel, seconds: number): void;
}

/** Trains a population of nets: one after another (`trainSequentially`) or batched, as long as each member gets a record. */
export type PopulationTrainer = (members: SweepMember[], run: PopulationRun) => Promise<void>;

/**
 * The sweep's default trainer: each member in turn with trainOne (the model freed after its record).
 *   await trainSequentially(members, run);
 */
export const trainSequentially: PopulationTrainer = async (members, run) => {
  const perModel = iterationsOf(run.settings);
  const scales = new Set(members.map((m) => m.scaleIndex)).size;
  let doneBefore = 0;
  for (const m of members) {
    if (run.gate.stopped) break;
    run.onDetail(
      `weight scale ${m.scaleIndex + 1} / ${scales} (${m.weightScale.toExponential(2)}): ${m.label} network on ${whereOf(run.env)}`,
    );
    const t = performance.now();
    const { record, model } = await trainOne(run.env, {
      label: m.label,
      settings: run.settings,
      weightScale: m.weightScale,
      data: run.data,
      gate: run.gate,
      onProgress: (p) => run.onSteps(doneBefore + p.iteration),
    });
    model.destroy();
    run.addSeconds(m.label, (performance.now() - t) / 1000);
    doneBefore += perModel; // a diverged run ends early; the bar counts it as done
    run.onSteps(doneBefore);
    run.onRecord(m, record);
  }
};

/**
 * The batched trainer (GPU only): each network kind at every scale as one population (one plan, one submit per step
 * for all), with the seed's Solver settings.
 *   await runSweep(settings, data, { kind: 'gpu', gpu }, { progress, gate, train: trainBatched });
 */
export const trainBatched: PopulationTrainer = async (members, run) => {
  const hooks = run.env.device;
  if (!run.env.gpu || run.env.kind !== 'gpu')
    throw new Error('batched training needs the WebGPU network (the CPU reference trains one net at a time)');
  const s = run.settings;
  const perModel = iterationsOf(s);
  let doneBefore = 0;
  for (const label of sweepLabels) {
    const group = members.filter((m) => m.label === label);
    if (run.gate.stopped || group.length === 0) continue;
    const t = performance.now();
    // a device lost before this population (the other one stopped) is replaced first
    if (run.env.gpu?.lostInfo && hooks) run.env.gpu = await hooks.requestDevice();
    run.onDetail(
      `${group.length} ${label} networks as one population on the GPU${groupsNote(run.env.gpu!, s, group.length, label === 'batchnorm')}`,
    );
    try {
      const { records, population } = await trainPopulation({
        gpu: run.env.gpu!,
        data: run.data,
        label,
        hiddenDims: s.hidden as number[],
        normalization: label === 'batchnorm' ? 'batchnorm' : null,
        seed: s.seed as number,
        backwardVariant: pageBackwardVariant,
        members: group.map((m) => ({ weightScale: m.weightScale })),
        updateRule: s.updateRule as string,
        learningRate: s.lr as number,
        batchSize: s.batchSize as number,
        numEpochs: s.epochs as number,
        numTrainSamples: 1000,
        numValSamples: null,
        onSolver: joinGate(run.gate),
        onProgress: (p) => {
          loseDeviceAt(hooks, p.iteration);
          run.onSteps(doneBefore + p.iteration * group.length);
        },
        requestDevice: hooks?.requestDevice,
        onRecovery: (r) => {
          run.env.gpu = r.gpu; // the other population trains on the new device too
          hooks?.notice(
            `GPU device lost at step ${r.iteration} (${label} population of ${group.length}): continuing on a new device from epoch ${r.epoch}`,
          );
        },
      });
      if (records[0]?.status === 'device-lost') hooks?.notice(`${label} population: ${records[0].message}`);
      await population.destroy().catch(() => undefined);
      run.addSeconds(label, (performance.now() - t) / 1000);
      records.forEach((record, i) => run.onRecord(group[i]!, record));
    } finally {
      run.gate.current = null;
    }
    doneBefore += perModel * group.length;
    run.onSteps(doneBefore);
  }
};

/** The sweep's results record: what the page exports as JSON and the CLI writes. */
export interface SweepResult {
  experiment: 'sweep';
  settings: PanelSettings & { model: string };
  adapter: Record<string, unknown>;
  seconds: number;
  /** How the populations trained: batched (one population per network kind) or one net after another. */
  training: 'batched' | 'sequential';
  /** Wall time per network kind (all its scales). */
  secondsPerNetwork: Partial<Record<ModelLabel, number>>;
  weightScales: number[];
  runs: ScaleResult[];
}

export interface SweepHooks {
  progress: ProgressSink;
  gate: SolverGate;
  /** The results so far (called once with the empty rows, then after every record). */
  onUpdate?(results: ScaleResult[]): void;
  /** Who trains the population; default: `trainBatched` when the settings say `training: 'batched'` and the model is the GPU's, else `trainSequentially`. */
  train?: PopulationTrainer;
}

/**
 * The weight-scale sweep: for each of logspace(from, to, num) scales, the batchnorm and the baseline network;
 * diverged runs are recorded and the sweep goes on.
 *   const r = await runSweep(settings, data, { kind: 'gpu', gpu }, { progress, gate: createGate() });
 *   r.runs[0].runs.batchnorm.bestValAcc;
 */
export async function runSweep(s: PanelSettings, data: SolverData, env: ExperimentEnv, hooks: SweepHooks): Promise<SweepResult> {
  const scales = logspace(s.fromExp as number, s.toExp as number, s.numScales as number);
  const results: ScaleResult[] = scales.map((weightScale) => ({ weightScale, runs: {} }));
  hooks.onUpdate?.(results);
  const members: SweepMember[] = scales.flatMap((weightScale, scaleIndex) =>
    sweepLabels.map((label) => ({ scaleIndex, weightScale, label })),
  );
  const total = members.length * iterationsOf(s);
  const batched = s.training === 'batched' && env.kind === 'gpu';
  const train = hooks.train ?? (batched ? trainBatched : trainSequentially);
  const secondsPerNetwork: Partial<Record<ModelLabel, number>> = Object.fromEntries(sweepLabels.map((l) => [l, 0]));
  const t0 = performance.now();
  await train(members, {
    settings: s,
    data,
    env,
    gate: hooks.gate,
    addSeconds: (label, seconds) => {
      secondsPerNetwork[label] = (secondsPerNetwork[label] ?? 0) + seconds;
    },
    onSteps: (done) => hooks.progress.setProgress(done, total),
    onDetail: (text) => hooks.progress.setDetail(text),
    onRecord: (m, record) => {
      results[m.scaleIndex]!.runs[m.label] = record;
      hooks.onUpdate?.(results);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const training = train === trainBatched ? 'batched' : 'sequential';
  hooks.progress.setDetail(
    `${results.flatMap((r) => Object.values(r.runs)).length} runs in ${seconds.toFixed(1)} s on ${whereOf(env)} (${training})`,
  );
  return {
    experiment: 'sweep',
    settings: { ...s, model: env.kind },
    adapter: adapterRecord(env),
    seconds,
    training,
    secondsPerNetwork,
    weightScales: scales,
    runs: results,
  };
}

/**
 * The CSV of the sweep: one row per trained network.
 *   sweepCsvRows(result.runs)[0]; // { weightScale: 1e-4, model: 'batchnorm', status: 'completed', ... }
 */
export function sweepCsvRows(results: ScaleResult[]): Record<string, unknown>[] {
  return results.flatMap((r) =>
    Object.values(r.runs).map((t) => ({
      weightScale: r.weightScale,
      model: t.label,
      status: t.status,
      divergedAt: t.divergedAt ?? '',
      bestValAcc: t.bestValAcc,
      bestTrainAcc: t.bestTrainAcc,
      finalLoss: t.finalLoss,
      iterations: t.iterations,
      seconds: t.seconds,
    })),
  );
}

/** Where one storage binding cannot hold the population: how it is split (planPopulationGroups), else nothing. */
function groupsNote(gpu: GpuContext, s: PanelSettings, models: number, batchnorm: boolean): string {
  const dims = [3072, ...(s.hidden as number[]), 10];
  // as trainPopulation plans it: batches up to the accuracy pass's 1000 rows
  const net = {
    dims,
    normalization: batchnorm ? ('batchnorm' as const) : null,
    updateRule: s.updateRule as string,
    batchSize: Math.max(s.batchSize as number, 1000),
  };
  const plan = planPopulationGroups(gpu.device.limits, net, { models });
  return plan.groups.length > 1 ? ` in ${plan.groups.length} groups (one storage binding holds ${plan.modelsPerGroup} of these nets)` : '';
}
