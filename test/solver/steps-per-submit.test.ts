// Several steps a submit in the one training loop: groups never cross a check, the histories and weights are those of one step a submit (and of the written-out loop), pause / stop / device loss land between groups.
import { describe, expect, it } from 'vitest';
import { Solver } from '../../src/solver/solver.ts';
import { PopulationSolver } from '../../src/solver/population-solver.ts';
import { createSubmitPacer, readStepsPerSubmit, stepsToCheck } from '../../src/solver/step-groups.ts';
import { fakeGpu, fakePopulation, opts, replay, toyData } from './fake-population.ts';

/** Cumulative sums: the step counts at which the submits of `sizes` end. */
const ends = (sizes: number[]) => sizes.map((_, i) => sizes.slice(0, i + 1).reduce((a, b) => a + b, 0));

describe('steps per submit: the group sizes', () => {
  it('a group runs up to the next check at most: the first step, each epoch end, the last step', () => {
    expect(stepsToCheck(0, 8, 100, 49)).toBe(1);
    expect(stepsToCheck(1, 8, 100, 49)).toBe(8);
    expect(stepsToCheck(41, 8, 100, 49)).toBe(8); // steps 41..48, the epoch ends at 48
    expect(stepsToCheck(45, 8, 100, 49)).toBe(4);
    expect(stepsToCheck(49, 8, 100, 49)).toBe(8);
    expect(stepsToCheck(96, 8, 100, 49)).toBe(2); // 96, 97: the second epoch ends at 97
    expect(stepsToCheck(98, 8, 100, 49)).toBe(2); // 98, 99: the last step is checked
    expect(stepsToCheck(5, 1, 100, 49)).toBe(1);
    expect(stepsToCheck(3, 8, 10, 1)).toBe(1); // one step an epoch: every step is checked
  });

  it("'auto' starts at one step a submit, then fits ~50 ms at the measured time per step, at most 8", () => {
    let now = 0;
    const p = createSubmitPacer('auto', () => now);
    expect(p.cap()).toBe(1);
    p.arrived(1); // the first arrival only starts the clock (the first step compiles)
    expect(p.cap()).toBe(1);
    now += 2;
    p.arrived(1); // 2 ms a step: 25 would fit, 8 is the cap
    expect(p.cap()).toBe(8);
    p.restart(); // a check took 1 s: not a step time
    now += 1000;
    p.arrived(8);
    expect(p.cap()).toBe(8);
    for (let i = 0; i < 30; i++) {
      now += 8 * 20; // 20 ms a step
      p.arrived(8);
    }
    expect(p.cap()).toBe(2);
    for (let i = 0; i < 30; i++) {
      now += 60;
      p.arrived(1);
    }
    expect(p.cap()).toBe(1); // a slow adapter stays at one step a submit
    expect(createSubmitPacer(3).cap()).toBe(3);
  });

  it('stepsPerSubmit is an integer >= 1 or auto, else a clear error', () => {
    expect(readStepsPerSubmit(undefined, 'Solver')).toBe('auto');
    expect(readStepsPerSubmit(4, 'Solver')).toBe(4);
    const { pop } = fakePopulation(1);
    for (const bad of [0, 1.5, -2, 'fast'])
      expect(() => new Solver(pop, toyData(), { stepsPerSubmit: bad as number })).toThrow(
        /Solver: stepsPerSubmit must be 'auto' or an integer >= 1, got/,
      );
    expect(() => new PopulationSolver(pop, toyData(), { stepsPerSubmit: 0 })).toThrow(/PopulationSolver: stepsPerSubmit must be/);
  });
});

describe('steps per submit: the same run', () => {
  it('1, 3, 4 and auto steps a submit give the written-out loop, and no group crosses a check', async () => {
    const want = replay([0.1]);
    const runs: Record<string, number[]> = {};
    for (const k of [1, 3, 4, 'auto'] as const) {
      const sizes: number[] = [];
      const { pop, m } = fakePopulation(1, [], undefined, { sizes });
      const solver = new Solver(pop, toyData(), { ...opts, optimConfig: { learningRate: 0.1 }, stepsPerSubmit: k });
      expect((await solver.train()).status).toBe('completed');
      expect(solver.lossHistory, `stepsPerSubmit ${k}`).toEqual(want.losses[0]);
      expect(solver.valAccHistory).toEqual(want.vals[0]);
      expect(m.w).toEqual(want.bestW);
      runs[k] = sizes;
    }
    expect(runs[1]).toEqual([]); // one step a submit: stepMany is never called
    // 8 steps an epoch: step 0 alone (the first check), then 1..7 (3, 3, 1), 8..15, 16..23; a group of one goes through step()
    expect(runs[3]).toEqual([3, 3, 3, 3, 2, 3, 3, 2]);
    expect(runs[4]).toEqual([4, 3, 4, 4, 4, 4]);
    expect(ends([1, ...runs[4]!])).toEqual([1, 5, 8, 12, 16, 20, 24]); // every check (1, 8, 16, 24) ends a group
    expect(Math.max(...runs.auto!)).toBeGreaterThan(1); // the fake steps take no time: auto batches them
  });

  it('a population at 4 steps a submit: each model as the written-out loop, the diverging one frozen at its step', async () => {
    const sizes: number[] = [];
    const { pop, m } = fakePopulation(3, [undefined, 4, undefined], undefined, { sizes });
    const ps = new PopulationSolver(pop, toyData(), { ...opts, learningRates: [0.1, 0.3, 0.05], stepsPerSubmit: 4 });
    const r = await ps.train();
    const want = replay([0.1, 0.3, 0.05], [undefined, 4, undefined]);
    expect(sizes).toEqual([4, 3, 4, 4, 4, 4]);
    expect(ps.lossHistories).toEqual(want.losses);
    expect(ps.valAccHistories).toEqual(want.vals);
    expect(ps.divergedAt).toEqual([undefined, 5, undefined]); // step 5 sits inside the group of steps 2..5 (1-based)
    expect(r.members.map((x) => x.status)).toEqual(['completed', 'diverged', 'completed']);
    expect(m.w).toEqual(want.bestW.map(Math.fround));
  });

  it('a model without the many-step method (the CPU reference) is stepped one step at a time', async () => {
    const { pop } = fakePopulation(1);
    let steps = 0;
    const step = pop.step.bind(pop);
    const single = { ...pop, step: (i: Uint32Array) => (steps++, step(i)) };
    delete (single as { stepMany?: unknown }).stepMany;
    const solver = new Solver(single, toyData(), { ...opts, optimConfig: { learningRate: 0.1 }, stepsPerSubmit: 8 });
    await solver.train();
    expect(steps).toBe(24);
    expect(solver.lossHistory).toEqual(replay([0.1]).losses[0]);
  });
});

describe('steps per submit: pause, stop and device loss act between groups', () => {
  it('a pause lands at the end of a group, with every step of the groups queued before it in the history', async () => {
    const sizes: number[] = [];
    const { pop } = fakePopulation(2, [], undefined, { sizes });
    let atPause = -1;
    let queuedAtPause = -1;
    let queuedWhilePaused = -1;
    const ps: PopulationSolver = new PopulationSolver(pop, toyData(), {
      ...opts,
      learningRates: [0.1, 0.3],
      stepsPerSubmit: 4,
      onProgress: (p) => {
        if (p.iteration !== 6 || p.losses === undefined) return;
        ps.pause();
        queuedAtPause = sizes.length;
        setTimeout(() => {
          atPause = ps.lossHistories[0]!.length;
          queuedWhilePaused = sizes.length - queuedAtPause;
          ps.resume();
        }, 20);
      },
    });
    expect((await ps.train()).status).toBe('completed');
    expect(queuedWhilePaused).toBe(0);
    expect(ends([1, ...sizes])).toContain(atPause); // a group boundary
    expect(atPause).toBeGreaterThanOrEqual(6);
    expect(ps.lossHistories).toEqual(replay([0.1, 0.3]).losses);
  });

  it('abort ends the run at a group boundary with every step of it in the history', async () => {
    const sizes: number[] = [];
    const { pop } = fakePopulation(1, [], undefined, { sizes });
    const solver: Solver = new Solver(pop, toyData(), {
      ...opts,
      optimConfig: { learningRate: 0.1 },
      stepsPerSubmit: 4,
      onProgress: (p) => {
        if (p.iteration === 10) solver.abort();
      },
    });
    const r = await solver.train();
    expect(r.status).toBe('aborted');
    expect(ends([1, ...sizes])).toContain(r.iterations);
    expect(r.iterations).toBeGreaterThanOrEqual(10);
    expect(r.iterations).toBeLessThan(24);
    expect(solver.lossHistory).toEqual(replay([0.1]).losses[0]!.slice(0, r.iterations));
  });

  it('a device lost in the middle of a submit of 4: back to the checkpoint, and the run ends as one without a loss', async () => {
    const run = async (loseAt: number | undefined, stepsPerSubmit: number) => {
      const sizes: number[] = [];
      const gpu = fakeGpu(async () => fakeGpu());
      const { pop, m } = fakePopulation(2, [], gpu, { sizes, loseAt });
      const ps = new PopulationSolver(pop, toyData(), { ...opts, learningRates: [0.1, 0.3], stepsPerSubmit });
      return { r: await ps.train(), ps, m, sizes };
    };
    const clean = await run(undefined, 1);
    const lost = await run(10, 4); // step index 10 is the third of the submit of steps 8..11
    expect(lost.r.status).toBe('completed');
    expect(lost.r.recoveries).toHaveLength(1);
    expect(lost.r.recoveries[0]!.resumedFrom).toBe(8); // the epoch-1 check
    expect(lost.sizes.slice(0, 4)).toEqual([4, 3, 4, 4]); // steps 1..4, 5..7, then 8..11 lost in its middle, 8..11 again
    expect(lost.ps.lossHistories).toEqual(clean.ps.lossHistories);
    expect(lost.ps.valAccHistories).toEqual(clean.ps.valAccHistories);
    expect(lost.ps.trainAccHistories).toEqual(clean.ps.trainAccHistories);
    expect(lost.m.w).toEqual(clean.m.w);
    expect(lost.m.t).toBe(clean.m.t);
  });
});
