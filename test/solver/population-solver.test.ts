// The PopulationSolver on a fake population (a weight per model, moved by each minibatch), against a hand-written replay of the same minibatch stream: M = 1 is the Solver, a diverging model is frozen, each model's best values come back, a device loss rewinds every model.
import { describe, expect, it } from 'vitest';
import { Solver } from '../../src/solver/solver.ts';
import { PopulationSolver } from '../../src/solver/population-solver.ts';
import { fakeGpu, fakePopulation, opts, replay, toyData } from './fake-population.ts';

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
