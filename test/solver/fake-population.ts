// A fake population for the solver tests (a weight per model, moved by each minibatch; optionally several steps a submit), the same run written out, and a device that can be lost.
import type { PopulationModel } from '../../src/solver/loop-model.ts';
import type { SolverData, TrainableModel } from '../../src/solver/model.ts';
import type { Recoverable } from '../../src/solver/recovery.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { makeRng } from '../../src/reference/rng.ts';

export const N = 40;
export function toyData(): SolverData {
  const rng = makeRng(1);
  return {
    XTrain: rng.randnTensor([N, 4]),
    yTrain: Array.from({ length: N }, (_, i) => i % 3),
    XVal: rng.randnTensor([10, 4]),
    yVal: Array.from({ length: 10 }, (_, i) => i % 3),
  };
}

/** One model's step: its weight moves toward the minibatch's mean row index (f32, as a checkpoint keeps it). */
export const move = (w: number, lr: number, rows: ArrayLike<number>, t: number) =>
  Math.fround(w * (1 - lr) + (Array.from(rows).reduce((a, b) => a + b, 0) / rows.length / N) * lr + 1e-3 * t);
export const accuracyOf = (w: number, rows: ArrayLike<number>) => Math.round(((w * 7 + rows[0]! / N) % 1) * 100) / 100;

/**
 * M weights trained side by side; model k's loss turns NaN at step index `divergeAt[k]` and it is frozen there (no update,
 * as the GPU's freeze node). With a gpu it checkpoints, and a rebuild takes the config's single rate, as a GraphModel's.
 * With `many` it also takes several steps a submit (stepModelsMany / stepMany, each submit's size pushed to `many.sizes`),
 * and loses its device once in the middle of the submit holding step index `many.loseAt` (the steps before it in that
 * submit done, the submit rejected).
 */
export function fakePopulation(
  M: number,
  divergeAt: (number | undefined)[] = [],
  gpu?: GpuContext,
  many?: { sizes: number[]; loseAt?: number },
) {
  const m = { w: new Array<number>(M).fill(0.5), lrs: new Array<number>(M).fill(0.1), t: 0, alive: new Array<boolean>(M).fill(true) };
  const stepNow = (indices: Uint32Array) => {
    if (pop.gpu?.lostInfo) throw new Error('mapAsync: the device was lost');
    m.t += 1;
    return Float64Array.from(m.w, (w, k) => {
      if (!m.alive[k] || m.t - 1 === divergeAt[k]) return ((m.alive[k] = false), NaN);
      return (m.w[k] = move(w, m.lrs[k]!, indices, m.t));
    });
  };
  const pop: PopulationModel & TrainableModel & Partial<Recoverable> = {
    models: M,
    async attachData() {},
    async setUpdateRule(_rule, config) {
      m.lrs.fill(config.learningRate ?? 0.1);
    },
    setLearningRate(lr) {
      if (typeof lr === 'number') m.lrs.fill(lr);
      else lr.forEach((v, k) => (m.lrs[k] = v));
    },
    async stepModels(indices) {
      return stepNow(indices);
    },
    async accuracyModels(_split, indices) {
      return Float64Array.from(m.w, (w) => accuracyOf(w, indices));
    },
    async step(indices) {
      return (await pop.stepModels(indices))[0]!;
    },
    async accuracy(split, indices) {
      return (await pop.accuracyModels(split, indices))[0]!;
    },
    async snapshot() {
      return { params: Float32Array.from(m.w), state: new Float32Array(0) };
    },
    snapshotRanges: (k) => ({ params: [[k, k + 1]], state: [] }),
    async restore(s) {
      m.w = Array.from((s as { params: Float32Array }).params);
    },
  };
  if (many) {
    let lost = false;
    // the whole submit runs at once, as a GPU runs one command buffer after another (no other submit between its steps)
    pop.stepModelsMany = async (list) => {
      many.sizes.push(list.length);
      const out: Float64Array[] = [];
      for (const rows of list) {
        if (m.t === many.loseAt && !lost && out.length > 0) {
          lost = true;
          (pop.gpu as { lose?: () => void } | undefined)?.lose?.();
        }
        out.push(stepNow(rows));
      }
      return out;
    };
    pop.stepMany = async (list) => (await pop.stepModelsMany!(list)).map((l) => l[0]!);
  }
  if (gpu) {
    pop.gpu = gpu;
    pop.checkpoint = async (iteration) => {
      if (pop.gpu!.lostInfo) throw new Error('lost');
      const update = { rule: 'sgd', config: { t: m.t, learningRate: m.lrs[0]! }, slots: {} };
      return { iteration, params: Float32Array.from(m.w), state: new Float32Array(0), update, bytes: 4 * M, readMs: 0 };
    };
    pop.rebuildOn = async (newGpu, c) => {
      pop.gpu = newGpu;
      m.w = Array.from(c.params);
      m.t = c.update!.config.t!;
      m.lrs.fill(c.update!.config.learningRate!);
      m.alive = m.w.map((_, k) => divergeAt[k] === undefined || divergeAt[k]! >= c.iteration);
    };
  }
  return { pop, m };
}

/** The same run written out: rows drawn from makeRng(seed) (steps, then the check's 10 training rows), lr decay, best weights. */
export function replay(lrs: number[], divergeAt: (number | undefined)[] = []) {
  const rng = makeRng(9);
  const M = lrs.length;
  const w = new Array<number>(M).fill(0.5);
  const lr = [...lrs];
  const out = { losses: lrs.map(() => [] as number[]), vals: lrs.map(() => [] as number[]), bestW: [...w], bestVal: lrs.map(() => -1) };
  const dead = new Array<boolean>(M).fill(false);
  for (let t = 0; t < 24; t++) {
    const rows = Array.from({ length: 5 }, () => rng.randint(N));
    for (let k = 0; k < M; k++) {
      if (dead[k]) continue;
      dead[k] = t === divergeAt[k];
      out.losses[k]!.push(dead[k] ? NaN : (w[k] = move(w[k]!, lr[k]!, rows, t + 1)));
    }
    const epochEnd = (t + 1) % 8 === 0;
    if (epochEnd) lr.forEach((v, k) => (lr[k] = v * 0.5));
    if (t !== 0 && !epochEnd) continue;
    Array.from({ length: 10 }, () => rng.randint(N)); // the training-accuracy rows
    for (let k = 0; k < M; k++) {
      if (dead[k]) continue;
      const val = accuracyOf(w[k]!, [0]);
      out.vals[k]!.push(val);
      if (val > out.bestVal[k]!) [out.bestVal[k], out.bestW[k]] = [val, w[k]!];
    }
  }
  return out;
}

// 8 steps an epoch, 3 epochs, lr halved at each epoch end, 10 training rows sampled at each check
export const opts = { batchSize: 5, numEpochs: 3, lrDecay: 0.5, verbose: false, seed: 9, numTrainSamples: 10 };

/** A device that can be lost (only what the loop looks at). */
export function fakeGpu(recreate?: () => Promise<GpuContext>): GpuContext & { lose(): void } {
  let resolve!: (i: GPUDeviceLostInfo) => void;
  const lost = new Promise<GPUDeviceLostInfo>((r) => (resolve = r));
  const gpu = { device: {} as GPUDevice, lost, lostInfo: null as GPUDeviceLostInfo | null, errors: [] as GpuContext['errors'], recreate };
  const lose = () => resolve((gpu.lostInfo = { reason: 'destroyed', message: 'fake loss' } as GPUDeviceLostInfo));
  return Object.assign(gpu, { lose }) as GpuContext & { lose(): void };
}
