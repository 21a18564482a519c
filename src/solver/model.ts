// What the Solver needs from a model: one training step on given rows, accuracy on given rows, parameter snapshots.

/** One split of a dataset as the Solver sees it: rows of X (uint8 pixels with a mean image, or floats) and labels. */
export interface SolverSplit {
  /** N rows of `dim` values: Uint8Array pixels (mean image subtracted on the fly) or already-centred floats. */
  X: { data: Uint8Array | Float32Array | Float64Array; shape: number[] };
  y: ArrayLike<number>;
}

/** The Solver's `data` argument, in the seed's names; `meanImage` goes with uint8 X. */
export interface SolverData {
  XTrain: SolverSplit['X'];
  yTrain: ArrayLike<number>;
  XVal: SolverSplit['X'];
  yVal: ArrayLike<number>;
  meanImage?: Float32Array | Float64Array;
}

/**
 * A model the Solver can train: the float64 reference network (through `createReferenceTrainer`) and the GPU
 * `FullyConnectedNeuralNet` both implement it, so one Solver serves both.
 */
export interface TrainableModel {
  /** Called once by the Solver before training: take the data (the GPU model uploads it once). */
  attachData(data: SolverData): Promise<void>;
  /** Set the update rule and its config (cs231n `update_rule`, `optim_config`); unknown names are errors. */
  setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void>;
  /** Multiply the learning rate (lr decay at each epoch end). */
  setLearningRate(lr: number): void;
  /**
   * Queue one step (forward, backward, update) on training rows `indices`. The returned promise resolves to
   * the loss once it is known; the Solver does not wait for it before queuing the next step.
   */
  step(indices: Uint32Array): Promise<number>;
  /**
   * Optional: queue several steps in one submit (step j on rows `indicesList[j]`); resolves to each step's loss, the
   * same as that many `step` calls. The Solver uses it when present (GraphModel has it), else calls `step` per step.
   */
  stepMany?(indicesList: readonly Uint32Array[]): Promise<number[]>;
  /** Fraction of rows `indices` of a split whose argmax score equals the label (batchnorm in test mode). */
  accuracy(split: 'train' | 'val', indices: Uint32Array): Promise<number>;
  /** A real copy of the parameters and state, independent of later steps (GraphModel reads them back to the host); `restore` puts one back. */
  snapshot(): Promise<unknown>;
  restore(snapshot: unknown): Promise<void>;
}
