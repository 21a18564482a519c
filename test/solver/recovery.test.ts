// The Solver after a device loss, on a fake recoverable model: rewind to the checkpoint, the same run as without the loss, the clean stops.
import { describe, expect, it } from 'vitest';
import { Solver, type SolverOptions } from '../../src/solver/solver.ts';
import type { SolverData } from '../../src/solver/model.ts';
import type { RecoverableModel } from '../../src/solver/recovery.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import type { ModelCheckpoint } from '../../src/graph/checkpoint.ts';
import { makeRng } from '../../src/reference/rng.ts';

function toyData(n = 40, d = 4): SolverData {
  const rng = makeRng(1);
  return {
    XTrain: rng.randnTensor([n, d]),
    yTrain: Array.from({ length: n }, (_, i) => i % 3),
    XVal: rng.randnTensor([10, d]),
    yVal: Array.from({ length: 10 }, (_, i) => i % 3),
  };
}

/** A device that can be lost, as a GpuContext carries it (only what the Solver looks at). */
function fakeGpu(recreate?: () => Promise<GpuContext>): GpuContext & { lose(): void } {
  let resolve!: (i: GPUDeviceLostInfo) => void;
  const ctx = {
    device: {} as GPUDevice,
    lost: new Promise<GPUDeviceLostInfo>((r) => {
      resolve = r;
    }),
    lostInfo: null as GPUDeviceLostInfo | null,
    errors: [],
    recreate,
    lose() {
      const info = { reason: 'destroyed', message: 'fake loss' } as GPUDeviceLostInfo;
      ctx.lostInfo = info;
      resolve(info);
    },
  };
  return ctx as unknown as GpuContext & { lose(): void };
}

/**
 * A model whose "parameter" w moves with every minibatch it is given (so the losses depend on the sampler's draws),
 * with host checkpoints of w, Adam-like step count t and the learning rate; steps on a lost device reject.
 */
function fakeModel(gpu: GpuContext) {
  const m = { w: 0.5, t: 0, lr: 0.1, rebuilds: [] as number[] };
  const model: RecoverableModel = {
    gpu,
    async attachData() {},
    async setUpdateRule(_rule, config) {
      m.lr = config.learningRate ?? 0.1;
    },
    setLearningRate(lr) {
      m.lr = lr;
    },
    async step(indices) {
      if (model.gpu.lostInfo) throw new Error('mapAsync: the device was lost');
      m.t += 1;
      m.w = Math.fround(m.w * (1 - m.lr) + (indices.reduce((a, b) => a + b, 0) / indices.length / 40) * m.lr + 1e-3 * m.t); // f32, as the checkpoint keeps it
      return m.w;
    },
    async accuracy(_split, indices) {
      return Math.round(((m.w * 7 + indices[0]! / 40) % 1) * 100) / 100;
    },
    async snapshot() {
      return m.w;
    },
    async restore(s) {
      m.w = (s as ModelCheckpoint).params[0]!;
    },
    async checkpoint(iteration) {
      if (model.gpu.lostInfo) throw new Error('lost');
      return {
        iteration,
        params: Float32Array.of(m.w),
        state: new Float32Array(0),
        update: { rule: 'sgd', config: { t: m.t, learningRate: m.lr }, slots: {} },
        bytes: 4,
        readMs: 0,
      };
    },
    async rebuildOn(newGpu, c) {
      model.gpu = newGpu;
      m.w = c.params[0]!;
      m.t = c.update!.config.t!;
      m.lr = c.update!.config.learningRate!;
      m.rebuilds.push(c.iteration);
    },
  };
  return { model, m };
}

const opts: SolverOptions = { batchSize: 5, numEpochs: 3, lrDecay: 0.5, verbose: false, seed: 9, numTrainSamples: 10 }; // 8 steps per epoch

/** Train with the device lost once the loss of step `at` is known (and `again` more times right after each recovery). */
async function run(at: number | null, extra: SolverOptions = {}, again = 0, recreate = true) {
  let gpus = 0;
  const make = async (): Promise<GpuContext> => {
    gpus++;
    const g = fakeGpu(recreate ? make : undefined);
    if (again-- > 0) g.lose();
    return g;
  };
  const gpu = fakeGpu(recreate ? make : undefined);
  const { model, m } = fakeModel(gpu);
  const solver = new Solver(model, toyData(), {
    ...opts,
    ...extra,
    onProgress: (p) => {
      if (p.iteration === at && !gpu.lostInfo) gpu.lose();
    },
  });
  const result = await solver.train();
  return { result, solver, m, gpus };
}

describe('Solver device-loss recovery', () => {
  it('goes back to the last checkpoint on a new device and ends as the run without a loss does', async () => {
    const clean = await run(null);
    const lost = await run(13);
    expect(clean.result.recoveries).toEqual([]);
    expect(lost.result.status).toBe('completed');
    expect(lost.result.recoveries).toEqual([{ iteration: 17, resumedFrom: 8, reason: 'destroyed: fake loss' }]); // steps 14..16 were queued and done before the loss
    expect(lost.m.rebuilds).toEqual([8]);
    expect(lost.gpus).toBe(1);
    expect(lost.solver.lossHistory).toEqual(clean.solver.lossHistory); // the sampler was rewound: the same draws
    expect(lost.solver.valAccHistory).toEqual(clean.solver.valAccHistory);
    expect(lost.solver.trainAccHistory).toEqual(clean.solver.trainAccHistory);
    expect(lost.m.w).toBe(clean.m.w);
    expect(lost.m.t).toBe(clean.m.t);
    expect(lost.result.message).toMatch(/1 device loss survived/);
  });

  it('a loss before the first check goes back to the start', async () => {
    const clean = await run(null);
    const early = await (async () => {
      const gpu = fakeGpu(async () => fakeGpu());
      const { model } = fakeModel(gpu);
      const solver = new Solver(model, toyData(), {
        ...opts,
        onProgress: (p) => {
          if (p.loss !== undefined && !gpu.lostInfo) gpu.lose();
        },
      }); // at the first loss, before the first check
      return { result: await solver.train(), solver };
    })();
    expect(early.result.status).toBe('completed');
    expect(early.result.recoveries).toEqual([{ iteration: 2, resumedFrom: 0, reason: 'destroyed: fake loss' }]);
    expect(early.solver.lossHistory).toEqual(clean.solver.lossHistory);
  });

  it("stops cleanly with onDeviceLost 'stop', keeping the checkpoint", async () => {
    const r = await run(13, { onDeviceLost: 'stop' });
    expect(r.result.status).toBe('device-lost');
    expect(r.result.checkpointIteration).toBe(8);
    expect(r.result.recoveries).toEqual([]);
    expect(r.result.message).toMatch(
      /GPU device lost at step 17 \(destroyed: fake loss\); onDeviceLost is 'stop': stopped; the model keeps the host checkpoint of iteration 8/,
    );
    expect(r.gpus).toBe(0);
  });

  it('stops cleanly when the new device is lost before a new checkpoint', async () => {
    const r = await run(13, { onRecovery: (rec) => (rec.gpu as ReturnType<typeof fakeGpu>).lose() });
    expect(r.result.status).toBe('device-lost');
    expect(r.result.recoveries).toHaveLength(1);
    expect(r.result.checkpointIteration).toBe(8);
    expect(r.result.message).toMatch(/lost again before a new checkpoint \(the last loss was at step 17\)/);
    const born = await run(13, {}, 1); // the replacement is lost before it is used
    expect(born.result.status).toBe('device-lost');
    expect(born.result.recoveries).toEqual([]);
    expect(born.result.message).toMatch(/the new device is lost too/);
  });

  it('stops cleanly when no device can be had, and says so', async () => {
    const none = await run(13, {}, 0, false);
    expect(none.result.status).toBe('device-lost');
    expect(none.result.message).toMatch(/no way to get a new device/);
    const refused = await run(13, {
      requestDevice: async () => {
        throw new Error('adapter gone');
      },
    });
    expect(refused.result.status).toBe('device-lost');
    expect(refused.result.message).toMatch(/no new device: adapter gone/);
  });

  it('an error that is not a device loss still fails the run', async () => {
    const gpu = fakeGpu();
    const { model } = fakeModel(gpu);
    const step = model.step;
    let n = 0;
    model.step = async (i) => {
      if (++n === 5) throw new Error('boom');
      return step(i);
    };
    const r = await new Solver(model, toyData(), opts).train();
    expect(r.status).toBe('failed');
    expect(r.message).toMatch(/boom/);
  });

  it("rejects an onDeviceLost that is neither 'recover' nor 'stop'", () => {
    const { model } = fakeModel(fakeGpu());
    expect(() => new Solver(model, toyData(), { onDeviceLost: 'retry' as 'stop' })).toThrow(/onDeviceLost must be 'recover' or 'stop'/);
  });
});
