// What every solver shares: the data, the epoch arithmetic of its settings, and pause / resume / abort (read by the training loop).
import type { SolverData } from './model.ts';

/**
 * The base of the Solver and the PopulationSolver: steps per epoch from the data and batch size, and the run
 * control a page's buttons reach (the loop awaits `paused` and checks `aborted` between submits, each of one or more steps).
 *   solver.pause(); solver.resume(); solver.abort(); // train() then resolves 'aborted'
 *   solver.numIterations; // numEpochs x max(floor(numTrain / batchSize), 1)
 */
export class SolverRun {
  readonly data: SolverData;
  readonly batchSize: number;
  readonly numEpochs: number;
  private pauseGate: Promise<void> | null = null;
  private abortAsked = false;
  private resumeFn: (() => void) | null = null;

  constructor(data: SolverData, s: { batchSize: number; numEpochs: number }) {
    this.data = data;
    this.batchSize = s.batchSize;
    this.numEpochs = s.numEpochs;
  }

  get numTrain(): number {
    return this.data.XTrain.shape[0]!;
  }
  get iterationsPerEpoch(): number {
    return Math.max(Math.floor(this.numTrain / this.batchSize), 1);
  }
  get numIterations(): number {
    return this.numEpochs * this.iterationsPerEpoch;
  }

  /** While paused: the promise `resume()` settles (the loop waits on it between submits); else null. */
  get paused(): Promise<void> | null {
    return this.pauseGate;
  }
  /** Whether `abort()` was called. */
  get aborted(): boolean {
    return this.abortAsked;
  }

  /** Pause once the steps already submitted are done (a submit may hold several: stepsPerSubmit); `resume()` continues. */
  pause(): void {
    if (!this.pauseGate)
      this.pauseGate = new Promise((r) => {
        this.resumeFn = r;
      });
  }
  resume(): void {
    this.resumeFn?.();
    this.pauseGate = null;
    this.resumeFn = null;
  }
  /** Stop once the steps already submitted are done; `train()` resolves with status 'aborted' and the histories of every step so far. */
  abort(): void {
    this.abortAsked = true;
    this.resume();
  }
}
