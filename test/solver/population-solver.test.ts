// The PopulationSolver on a fake population (a weight per model, moved by each minibatch), against a hand-written replay of the same minibatch stream: M = 1 is the Solver, a diverging model is frozen, each model's best values come back, a device loss rewinds every model.
import { describe, expect, it } from 'vitest';
import { Solver } from '../../src/solver/solver.ts';
import { PopulationSolver } from '../../src/solver/population-solver.ts';
import type { PopulationModel } from '../../src/solver/loop-model.ts';
import type { SolverData, TrainableModel } from '../../src/solver/model.ts';
import type { Recoverable } from '../../src/solver/recovery.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { makeRng } from '../../src/reference/rng.ts';

const N = 40;
function toyData(): SolverData {
  const rng = makeRng(1);
  return {
    XTrain: rng.randnTensor([N, 4]),
    yTrain: Array.from({ length: N }, (_, i) => i % 3),
    XVal: rng.randnTensor([10, 4]),
    yVal: Array.from({ length: 10 }, (_, i) => i % 3),
  };
}

/** One model's step: its weight moves toward the minibatch's mean row index (f32, as a checkpoint keeps it). */
const move = (w: number, lr: number, rows: ArrayLike<number>, t: number) =>
  Math.fround(w * (1 - lr) + (Array.from(rows).reduce((a, b) => a + b, 0) / rows.length / N) * lr + 1e-3 * t);
const accuracyOf = (w: number, rows: ArrayLike<number>) => Math.round(((w * 7 + rows[0]! / N) % 1) * 100) / 100;

/**
 * M weights trained side by side; model k's loss turns NaN at step index `divergeAt[k]` and it is frozen there (no update,
 * as the GPU's freeze node). With a gpu it checkpoints, and a rebuild takes the config's single rate, as a GraphModel's.
 */
function fakePopulation(M: number, divergeAt: (number | undefined)[] = [], gpu?: GpuContext) {
  const m = { w: new Array<number>(M).fill(0.5), lrs: new Array<number>(M).fill(0.1), t: 0, alive: new Array<boolean>(M).fill(true) };
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
      if (pop.gpu?.lostInfo) throw new Error('mapAsync: the device was lost');
      m.t += 1;
      return Float64Array.from(m.w, (w, k) => {
        if (!m.alive[k] || m.t - 1 === divergeAt[k]) return ((m.alive[k] = false), NaN);
        return (m.w[k] = move(w, m.lrs[k]!, indices, m.t));
      });
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
function replay(lrs: number[], divergeAt: (number | undefined)[] = []) {
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
const opts = { batchSize: 5, numEpochs: 3, lrDecay: 0.5, verbose: false, seed: 9, numTrainSamples: 10 };

describe('PopulationSolver', () => {
  it('of one model trains as the Solver does, both as the written-out loop', async () => {
    const single = fakePopulation(1);
    const solver = new Solver(single.pop, toyData(), { ...opts, optimConfig: { learningRate: 0.1 } });
    const sr = await solver.train();
    const one = fakePopulation(1);
    const ps = new PopulationSolver(one.pop, toyData(), { ...opts, optimConfig: { learningRate: 0.1 } });
    const pr = await ps.train();
    const want = replay([0.1]);
    expect(solver.lossHistory).toEqual(want.losses[0]);
    expect(solver.valAccHistory).toEqual(want.vals[0]);
    expect(ps.lossHistories).toEqual([solver.lossHistory]);
    expect(ps.trainAccHistories).toEqual([solver.trainAccHistory]);
    expect(ps.valAccHistories).toEqual([solver.valAccHistory]);
    expect(ps.bestValAccs).toEqual([solver.bestValAcc]);
    expect(solver.bestValAcc).toBe(want.bestVal[0]);
    expect(single.m.w).toEqual(want.bestW); // the best validation weights restored
    expect(one.m.w).toEqual(want.bestW);
    expect([sr.status, pr.status, pr.members[0]!.status]).toEqual(['completed', 'completed', 'completed']);
    expect(pr.members[0]!.message).toBe(sr.message);
    expect(pr.iterations).toBe(sr.iterations);
  });

  it('freezes a diverging model at its step, trains the others on, and puts back each one best weights', async () => {
    const { pop, m } = fakePopulation(3, [undefined, 4, undefined]);
    const lines: string[] = [];
    const ps = new PopulationSolver(pop, toyData(), { ...opts, learningRates: [0.1, 0.3, 0.05], verbose: true, log: (l) => lines.push(l) });
    const r = await ps.train();
    const want = replay([0.1, 0.3, 0.05], [undefined, 4, undefined]);
    expect(ps.lossHistories).toEqual(want.losses);
    expect(ps.valAccHistories).toEqual(want.vals);
    expect(ps.divergedAt).toEqual([undefined, 5, undefined]);
    expect(r.members.map((x) => x.status)).toEqual(['completed', 'diverged', 'completed']);
    expect(r.members[1]!.message).toMatch(/^diverged at step 5: loss NaN \(frozen there/);
    expect(r.message).toBe('completed after 24 of 24 steps: 2 of 3 models trained, 1 diverged');
    expect(lines).toContain('model 1: diverged at step 5: loss NaN');
    expect(m.w).toEqual(want.bestW.map(Math.fround)); // each model's own best check
    expect(new Set(want.vals.map((v, k) => v.indexOf(want.bestVal[k]!))).size).toBeGreaterThan(1); // composed from different checks
  });

  it('a pause between steps changes nothing; abort ends every model as aborted with its history so far', async () => {
    const { pop } = fakePopulation(2);
    let paused = 0;
    const ps: PopulationSolver = new PopulationSolver(pop, toyData(), {
      ...opts,
      learningRates: [0.1, 0.3],
      onProgress: (p) => {
        if (p.iteration !== 5 || p.losses === undefined) return;
        ps.pause();
        paused = ps.lossHistories[0]!.length;
        setTimeout(() => ps.resume(), 20);
      },
    });
    expect((await ps.train()).status).toBe('completed');
    expect(paused).toBe(5);
    expect(ps.lossHistories).toEqual(replay([0.1, 0.3]).losses);
    const aborting = new PopulationSolver(fakePopulation(2).pop, toyData(), {
      ...opts,
      optimConfig: { learningRate: 0.1 },
      onProgress: (p) => {
        if (p.iteration === 10) aborting.abort();
      },
    });
    const r = await aborting.train();
    expect(r.status).toBe('aborted');
    expect(r.members.map((x) => x.status)).toEqual(['aborted', 'aborted']);
    expect(r.iterations).toBeGreaterThanOrEqual(10);
    expect(r.iterations).toBeLessThan(24);
    expect(aborting.lossHistories[0]).toEqual(replay([0.1, 0.1]).losses[0]!.slice(0, r.iterations));
  });

  it('after a device loss rewinds every model to the checkpoint, sets each rate again and ends as the run without it', async () => {
    const run = async (loseAt: number | null) => {
      const gpu = fakeGpu(async () => fakeGpu());
      const { pop, m } = fakePopulation(2, [], gpu);
      const ps = new PopulationSolver(pop, toyData(), {
        ...opts,
        learningRates: [0.1, 0.3],
        onProgress: (p) => {
          if (p.iteration === loseAt && !gpu.lostInfo) gpu.lose();
        },
      });
      return { r: await ps.train(), ps, m };
    };
    const clean = await run(null);
    const lost = await run(13);
    expect(clean.ps.lossHistories).toEqual(replay([0.1, 0.3]).losses);
    expect(lost.r.status).toBe('completed');
    expect(lost.r.recoveries).toEqual([{ iteration: 17, resumedFrom: 8, reason: 'destroyed: fake loss' }]);
    expect(lost.r.message).toMatch(/1 device loss survived/);
    expect(lost.ps.lossHistories).toEqual(clean.ps.lossHistories);
    expect(lost.ps.valAccHistories).toEqual(clean.ps.valAccHistories);
    expect(lost.m.lrs).toEqual(clean.m.lrs);
    expect(lost.m.w).toEqual(clean.m.w);
  });
});

/** A device that can be lost (only what the loop looks at). */
function fakeGpu(recreate?: () => Promise<GpuContext>): GpuContext & { lose(): void } {
  let resolve!: (i: GPUDeviceLostInfo) => void;
  const lost = new Promise<GPUDeviceLostInfo>((r) => (resolve = r));
  const gpu = { device: {} as GPUDevice, lost, lostInfo: null as GPUDeviceLostInfo | null, errors: [] as GpuContext['errors'], recreate };
  const lose = () => resolve((gpu.lostInfo = { reason: 'destroyed', message: 'fake loss' } as GPUDeviceLostInfo));
  return Object.assign(gpu, { lose }) as GpuContext & { lose(): void };
}
