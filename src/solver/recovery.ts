// Surviving a GPU device loss in a training loop: host checkpoints paired with the loop's own state, telling a loss from other errors, a new device.
import type { GpuContext } from '../gpu/device.ts';
import type { ModelCheckpoint } from '../graph/checkpoint.ts';
import type { TrainableModel } from './model.ts';

/** What surviving a device loss needs of a model: its device, host checkpoints, a rebuild from one on another device (GraphModel has them). */
export interface Recoverable {
  gpu: GpuContext;
  checkpoint(iteration: number): Promise<ModelCheckpoint>;
  rebuildOn(gpu: GpuContext, checkpoint: ModelCheckpoint): Promise<void>;
}

/** A TrainableModel that keeps host checkpoints and can be rebuilt from one on another device (GraphModel and every model built on it). */
export interface RecoverableModel extends TrainableModel, Recoverable {}

/** One device loss a run survived: the first step whose result was lost, the checkpoint it went on from, the loss's reason. */
export interface Recovery {
  iteration: number;
  resumedFrom: number;
  reason: string;
}

/**
 * Whether a model can be checkpointed and rebuilt on a new device.
 *   isRecoverable(net);                                  // true for a FullyConnectedNeuralNet
 *   isRecoverable(createReferenceTrainer(referenceNet)); // false: the CPU has no device to lose
 */
export function isRecoverable<M extends object>(m: M): m is M & Recoverable {
  return (
    'checkpoint' in m &&
    typeof m.checkpoint === 'function' &&
    'rebuildOn' in m &&
    typeof m.rebuildOn === 'function' &&
    'gpu' in m &&
    typeof m.gpu === 'object' &&
    m.gpu !== null
  );
}

/** A model checkpoint and the loop's state (`S`: sampler, histories' lengths, ...) at the same iteration. */
export interface LoopCheckpoint<S> {
  iteration: number;
  model: ModelCheckpoint;
  loop: S;
}

/**
 * Keeps the newest checkpoint whose host copy has arrived, plus those still being read; `newest()` waits for
 * the reads in flight (a read the loss interrupted fails) and answers the newest that arrived.
 *   const keeper = createCheckpointKeeper(model);
 *   keeper.take(t + 1, () => ({ rng: rng.getState(), losses: lossHistory.length }));
 */
export function createCheckpointKeeper<S>(model: Recoverable) {
  let ready: LoopCheckpoint<S> | null = null;
  const inFlight = new Set<Promise<unknown>>();
  return {
    /** Checkpoint the model behind its queued steps; `loop` gets the model checkpoint's promise and returns the loop's state now. */
    take(iteration: number, loop: (model: Promise<ModelCheckpoint>) => S): Promise<ModelCheckpoint> {
      const read = model.checkpoint(iteration);
      const state = loop(read);
      const kept = read.then(
        (c) => {
          if (!ready || ready.iteration <= iteration) ready = { iteration, model: c, loop: state };
        },
        () => undefined,
      );
      inFlight.add(kept);
      void kept.then(() => inFlight.delete(kept));
      read.catch(() => undefined); // a read the loss interrupted is not an error of its own
      return read;
    },
    /** The newest checkpoint that reached the host (null: none did). */
    async newest(): Promise<LoopCheckpoint<S> | null> {
      await Promise.all([...inFlight]);
      return ready;
    },
    /** Start again from `c` (after a recovery: nothing newer exists on the new device). */
    reset(c: LoopCheckpoint<S>): void {
      ready = c;
    },
  };
}

/**
 * An error for the first uncaptured GPU error of the model's device after the first `seen` (null: none): a step
 * whose command buffer was invalid did not run, so its loss is not to be believed.
 *   const e = uncapturedGpuError(model, 0); // Error: GPU validation error in "affine forward 50x3072 -> 100": ...
 */
export function uncapturedGpuError(model: Recoverable, seen: number): Error | null {
  const e = model.gpu.errors[seen];
  return e ? new Error(`GPU ${e.kind} error${e.kernel ? ` in "${e.kernel}"` : ''}: ${e.message.split('\n')[0]}`) : null;
}

/**
 * The reason, when the model's device is lost (waiting up to `waitMs` for `device.lost`, which settles a little
 * after the failed call that showed it), else null: the error was something else.
 *   const reason = await deviceLossOf(model); // 'destroyed: Device was destroyed.' or null
 */
export async function deviceLossOf(model: Recoverable, waitMs = 1000): Promise<string | null> {
  const { gpu } = model;
  if (!gpu.lostInfo) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      gpu.lost,
      new Promise((r) => {
        timer = setTimeout(r, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }
  const info = gpu.lostInfo;
  return info ? `${info.reason}${info.message ? `: ${info.message}` : ''}` : null;
}

/**
 * A new device for a model whose device was lost: from `requestDevice` when given, else made the way the lost one was
 * (`gpu.recreate`, set by requestGpu); `{ why }` when none can be had.
 *   const got = await replacementGpu(model.gpu);
 *   if ('gpu' in got) await model.rebuildOn(got.gpu, checkpoint);
 */
export async function replacementGpu(
  lost: GpuContext,
  requestDevice?: () => Promise<GpuContext>,
): Promise<{ gpu: GpuContext } | { why: string }> {
  const make = requestDevice ?? lost.recreate;
  if (!make) return { why: 'no way to get a new device (the context came from createGpu: give the Solver a requestDevice option)' };
  try {
    const gpu = await make();
    if (!gpu?.device) return { why: 'requestDevice gave no device' };
    if (gpu.lostInfo) return { why: `the new device is lost too (${gpu.lostInfo.reason})` };
    return { gpu };
  } catch (e) {
    return { why: `no new device: ${(e as Error).message}` };
  }
}

/**
 * After a failed step: when the model's device is lost, the newest host checkpoint rebuilt on a new device
 * (`{ checkpoint, gpu, reason }`), or why the run stops there (`{ stop, checkpoint }`: onDeviceLost 'stop', no
 * checkpoint, lost again before a new one, no device, a failed rebuild); null when the device is not lost.
 *   const r = await recoverFromLoss(model, keeper, recoveries, { lostAt: 18, onDeviceLost: 'recover' });
 *   if (r && 'gpu' in r) rewind(r.checkpoint.loop);
 */
export async function recoverFromLoss<S>(
  model: Recoverable | null,
  keeper: ReturnType<typeof createCheckpointKeeper<S>> | null,
  recoveries: readonly Recovery[],
  o: { lostAt: number; onDeviceLost?: 'recover' | 'stop'; requestDevice?: () => Promise<GpuContext> },
): Promise<
  null | { reason: string; checkpoint: LoopCheckpoint<S>; gpu: GpuContext } | { stop: string; checkpoint: LoopCheckpoint<S> | null }
> {
  const reason = model ? await deviceLossOf(model) : null;
  if (!reason) return null;
  const c = await keeper!.newest();
  const last = recoveries[recoveries.length - 1];
  const why =
    o.onDeviceLost === 'stop'
      ? "onDeviceLost is 'stop'"
      : !c
        ? 'no host checkpoint had reached the host'
        : last && c.iteration <= last.resumedFrom
          ? `lost again before a new checkpoint (the last loss was at step ${last.iteration})`
          : null;
  const got = why ? { why } : await replacementGpu(model!.gpu, o.requestDevice);
  const rebuilt =
    'why' in got
      ? got
      : await model!.rebuildOn(got.gpu, c!.model).then(
          () => got,
          (e: Error) => ({ why: `rebuilding on the new device failed: ${e.message}` }),
        );
  if ('why' in rebuilt) return { stop: `GPU device lost at step ${o.lostAt} (${reason}); ${rebuilt.why}`, checkpoint: c };
  keeper!.reset(c!);
  return { reason, checkpoint: c!, gpu: rebuilt.gpu };
}
