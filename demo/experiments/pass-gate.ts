// Pause and stop for the experiments that run no Solver (forward check, speedup): a gate they wait on between passes.

/** Pause/stop for the experiments that run no Solver (forward check, speedup): `wait()` between passes. */
export interface PassGate {
  stopped: boolean;
  pause(): void;
  resume(): void;
  stop(): void;
  /** Resolves once not paused; call between passes, then check `stopped`. */
  wait(): Promise<void>;
}

/**
 * A PassGate: `pause` holds the next `wait()` until `resume` or `stop`.
 *   const g = createPassGate(); g.pause(); setTimeout(() => g.resume(), 10);
 *   await g.wait(); // after the resume
 */
export function createPassGate(): PassGate {
  let held: { promise: Promise<void>; release: () => void } | null = null;
  const g: PassGate = {
    stopped: false,
    pause() {
      if (held) return;
      let release!: () => void;
      held = {
        promise: new Promise<void>((r) => {
          release = r;
        }),
        release,
      };
    },
    resume() {
      held?.release();
      held = null;
    },
    stop() {
      g.stopped = true;
      g.resume();
    },
    async wait() {
      if (held) await held.promise;
    },
  };
  return g;
}
