// How many training steps the loop puts in one submit: never across a check, and (by default) as many as fit a group time that keeps a page's charts live.
/** The default cap on steps per submit ('auto'), and the wall time a group of them should stay under. */
export const autoStepsPerSubmit = { maxSteps: 8, groupMs: 50 };

/**
 * Steps from step `t` (0-based) up to and including the next check (the first step, each epoch end, the last step),
 * at most `cap`: a group of steps in one submit never crosses a check or an epoch end.
 *   stepsToCheck(0, 8, 100, 49);  // 1: the first step is checked on its own
 *   stepsToCheck(1, 8, 100, 49);  // 8
 *   stepsToCheck(45, 8, 100, 49); // 4: steps 45..48, then the epoch ends
 */
export function stepsToCheck(t: number, cap: number, numIterations: number, iterationsPerEpoch: number): number {
  const checkAt = t === 0 ? 0 : Math.min(numIterations - 1, Math.ceil((t + 1) / iterationsPerEpoch) * iterationsPerEpoch - 1);
  return Math.max(1, Math.min(cap, checkAt - t + 1));
}

/** Chooses the steps of each submit: a fixed count, or ('auto') from the measured wall time per step. */
export interface SubmitPacer {
  /** The steps the next submit may hold (before the cut at a check). */
  cap(): number;
  /** A submit of `steps` steps has all its losses now: the time since the one before (if measured) is its wall time. */
  arrived(steps: number): void;
  /** The loop waited for something else (a check, a pause): the next arrival is not a step time. */
  restart(): void;
}

/**
 * A pacer for the `stepsPerSubmit` option: a number is used as given (1 = one step a submit); 'auto' starts at one
 * step a submit and then takes as many as fit `groupMs` at the measured ms per step (an average over recent submits),
 * at most `maxSteps`, so a fast GPU batches 8 steps while a slow adapter (or a big net) stays at one, and a page's
 * live charts get new losses at least every ~50 ms of training either way.
 *   const p = createSubmitPacer('auto'); p.cap(); // 1
 *   p.arrived(1); p.arrived(1); p.cap(); // 8 when a step took under 6.25 ms
 */
export function createSubmitPacer(option: number | 'auto', now = () => performance.now(), auto = autoStepsPerSubmit): SubmitPacer {
  if (option !== 'auto') return { cap: () => option, arrived: () => undefined, restart: () => undefined };
  let last: number | null = null;
  let msPerStep: number | null = null;
  return {
    cap: () => (msPerStep === null ? 1 : Math.max(1, Math.min(auto.maxSteps, Math.floor(auto.groupMs / Math.max(msPerStep, 1e-6))))),
    arrived(steps) {
      const t = now();
      if (last !== null) {
        const ms = (t - last) / steps;
        msPerStep = msPerStep === null ? ms : 0.7 * msPerStep + 0.3 * ms;
      }
      last = t;
    },
    restart() {
      last = null;
    },
  };
}

/**
 * Check a `stepsPerSubmit` option: 'auto' or an integer >= 1 (undefined is 'auto').
 *   readStepsPerSubmit(4, 'Solver'); // 4
 *   readStepsPerSubmit(0, 'Solver'); // Error: Solver: stepsPerSubmit must be 'auto' or an integer >= 1, got 0
 */
export function readStepsPerSubmit(v: unknown, who: string): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new Error(`${who}: stepsPerSubmit must be 'auto' or an integer >= 1, got ${String(v)}`);
  return v;
}
