// Solver semantics (cs231n): iteration count, lr decay per epoch, accuracy checks, best-parameter restore, errors, divergence.
import { describe, expect, it } from 'vitest';
import { Solver } from '../../src/solver/solver.ts';
import { createReferenceTrainer } from '../../src/solver/reference-trainer.ts';
import type { SolverData, TrainableModel } from '../../src/solver/model.ts';
import { FullyConnectedNeuralNet } from '../../src/reference/fc-net.ts';
import { makeRng } from '../../src/reference/rng.ts';
import { updateRules } from '../../src/reference/optim.ts';

function toyData(n = 60, d = 8, seed = 1): SolverData {
  const rng = makeRng(seed);
  const X = rng.randnTensor([n, d]);
  const y = Array.from({ length: n }, (_, i) => (X.data[i * d]! > 0 ? 1 : 0) + (X.data[i * d + 1]! > 0.5 ? 1 : 0));
  return { XTrain: X, yTrain: y, XVal: rng.randnTensor([20, d]), yVal: Array.from({ length: 20 }, (_, i) => i % 3) };
}

/** A model that records what the Solver asks and answers scripted values. */
function fakeModel(losses: (t: number) => number, valAcc: number[]) {
  const log = { lrs: [] as number[], steps: 0, accCalls: [] as string[], restored: null as unknown, snapshots: [] as number[] };
  let checks = 0;
  const model: TrainableModel = {
    async attachData() {},
    async setUpdateRule() {},
    setLearningRate(lr) {
      log.lrs.push(lr);
    },
    async step() {
      return losses(log.steps++);
    },
    async accuracy(split) {
      log.accCalls.push(split);
      return split === 'val' ? (valAcc[checks++] ?? 0) : 0.5;
    },
    async snapshot() {
      log.snapshots.push(checks);
      return checks;
    },
    async restore(s) {
      log.restored = s;
    },
  };
  return { model, log };
}

describe('Solver', () => {
  it('runs numEpochs * floor(N / batchSize) steps, checks accuracy at the first step and each epoch end', async () => {
    const { model, log } = fakeModel(() => 1, [0.1, 0.2, 0.3, 0.4]);
    const s = new Solver(model, toyData(60), { batchSize: 20, numEpochs: 3, verbose: false });
    const r = await s.train();
    expect(r.status).toBe('completed');
    expect(log.steps).toBe(9);
    expect(s.lossHistory).toHaveLength(9);
    expect(s.trainAccHistory).toHaveLength(4); // first step + 3 epoch ends (the last step is one of them)
    expect(s.valAccHistory).toEqual([0.1, 0.2, 0.3, 0.4]);
  });

  it('decays the learning rate at every epoch end', async () => {
    const { model, log } = fakeModel(() => 1, []);
    await new Solver(model, toyData(60), {
      batchSize: 20,
      numEpochs: 3,
      lrDecay: 0.5,
      optimConfig: { learningRate: 0.8 },
      verbose: false,
    }).train();
    expect(log.lrs).toEqual([0.4, 0.2, 0.1]);
  });

  it('restores the parameters of the best validation accuracy', async () => {
    const { model, log } = fakeModel(() => 1, [0.1, 0.6, 0.3, 0.5]);
    const s = new Solver(model, toyData(60), { batchSize: 20, numEpochs: 3, verbose: false });
    await s.train();
    expect(s.bestValAcc).toBe(0.6);
    expect(log.snapshots).toEqual([1, 2]); // taken after check 1 (first) and check 2 (0.6), not after 0.3 / 0.5
    expect(log.restored).toBe(2);
  });

  it('rejects unknown options and update rules by name', () => {
    const { model } = fakeModel(() => 1, []);
    expect(() => new Solver(model, toyData(), { learning_rate: 1 } as never)).toThrow(/unrecognized option "learning_rate"/);
    expect(() => new Solver(model, toyData(), { updateRule: 'adagrad' })).toThrow(/invalid update_rule "adagrad"/);
  });

  it('reports divergence at the first non-finite loss and keeps the histories', async () => {
    const { model } = fakeModel((t) => (t >= 4 ? NaN : 2 - t * 0.1), [0.2]);
    const s = new Solver(model, toyData(60), { batchSize: 10, numEpochs: 5, verbose: false });
    const r = await s.train();
    expect(r.status).toBe('diverged');
    expect(r.divergedAt).toBe(5);
    expect(r.message).toMatch(/diverged at step 5/);
    expect(s.lossHistory.slice(0, 4)).toEqual([2, 1.9, 1.8, 1.7]);
    expect(s.lossHistory.length).toBeLessThan(30);
  });

  it('abort stops the run and keeps what was done', async () => {
    const { model } = fakeModel(() => 1, []);
    const s = new Solver(model, toyData(60), { batchSize: 10, numEpochs: 5, verbose: false });
    const orig = model.step.bind(model);
    model.step = async (i) => {
      if (s.lossHistory.length >= 3) s.abort();
      return orig(i);
    };
    const r = await s.train();
    expect(r.status).toBe('aborted');
    expect(s.lossHistory.length).toBeLessThan(30);
  });

  it('trains the float64 reference exactly like a hand-written cs231n loop with the same minibatches', async () => {
    const data = toyData(40, 6);
    const opts = { inputDim: 6, numClasses: 3, useBatchnorm: true, weightScale: 0.1, seed: 3 };
    // numTrainSamples null: accuracy checks use every row and draw nothing from the sampler's stream
    const solver = new Solver(createReferenceTrainer(new FullyConnectedNeuralNet([5, 4], opts)), data, {
      updateRule: 'adam',
      optimConfig: { learningRate: 1e-2 },
      batchSize: 10,
      numEpochs: 2,
      seed: 9,
      verbose: false,
      numTrainSamples: null,
    });
    await solver.train();
    // The same loop written out: indices drawn with replacement from makeRng(9), Adam per parameter.
    const net = new FullyConnectedNeuralNet([5, 4], opts);
    const rng = makeRng(9);
    const configs: Record<string, object> = {};
    const losses: number[] = [];
    for (let t = 0; t < 8; t++) {
      const idx = Array.from({ length: 10 }, () => rng.randint(40));
      const X = { data: Float64Array.from(idx.flatMap((i) => Array.from(data.XTrain.data.subarray(i * 6, i * 6 + 6)))), shape: [10, 6] };
      const { loss, grads } = net.loss(
        X,
        idx.map((i) => data.yTrain[i]!),
      );
      losses.push(loss);
      for (const [k, p] of Object.entries(net.params)) {
        const r = updateRules.adam(p.data, grads[k]!.data, { learningRate: 1e-2, ...configs[k] });
        p.data = r.nextW;
        configs[k] = r.config;
      }
    }
    expect(solver.lossHistory).toHaveLength(8);
    solver.lossHistory.forEach((l, i) => expect(l).toBeCloseTo(losses[i]!, 12));
    expect(losses[7]!).toBeLessThan(losses[0]!);
  });
});

describe('Solver when the model fails', () => {
  it('ends as "failed" with the cause, keeps the histories and restores the best parameters', async () => {
    const { model, log } = fakeModel(() => 1.5, [0.3, 0.4]);
    const step = model.step.bind(model);
    model.step = async (i) => {
      if (log.steps >= 25) throw new Error('GPU device lost (destroyed): gone');
      return step(i);
    };
    const s = new Solver(model, toyData(60), { batchSize: 10, numEpochs: 10, verbose: false });
    const r = await s.train();
    expect(r.status).toBe('failed');
    expect(r.message).toMatch(/failed at step 2\d: GPU device lost \(destroyed\): gone/);
    expect(s.lossHistory.length).toBeGreaterThanOrEqual(20);
    expect(s.lossHistory.length).toBeLessThanOrEqual(25);
    expect(s.valAccHistory.length).toBeGreaterThanOrEqual(4);
    expect(log.restored).not.toBeNull();
  });
});
