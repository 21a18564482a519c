// Checkpoint and rebuild of a compiled model: host checkpoints queued behind the steps, the newest kept, and a model's parts made anew on another device from one.
import { assertNotLost, type GpuContext } from '../gpu/device.ts';
import { createScope, type GpuScope } from '../gpu/buffers.ts';
import { assertCheckpointFits, submitCheckpoint, unflattenStore, type ModelCheckpoint } from './checkpoint.ts';
import type { ModelDefinition } from './model-definition.ts';
import type { NamedTensor } from './safetensors.ts';
import { TrainingSession } from './session.ts';
import { createModelTensors, type ModelTensors } from './tensors.ts';

/** Where getParams and saveSafetensors answer from. */
export type ParamsSource = { source: 'device' } | { source: 'checkpoint'; iteration: number };

/** The parts of a compiled model that live on one device: the scope of its stores, the stores, the session. */
export interface DeviceParts {
  scope: GpuScope;
  tensors: ModelTensors;
  session: TrainingSession;
}

/**
 * A model's host checkpoints: each queued behind the steps queued so far, the newest one read back kept (it
 * answers getParams once the device is lost, and a rebuild starts from it).
 *   const points = new RecoveryPoints('MyNet');
 *   const ckpt = await points.take(parts, 120);
 */
export class RecoveryPoints {
  /** The newest host checkpoint read back, or null. */
  last: ModelCheckpoint | null = null;

  constructor(private readonly modelName: string) {}

  /**
   * Queue a checkpoint of the stores (params, state, the rule's slots) behind the queued steps: one submit of
   * copies, read by mapAsync while later steps queue; the rule's config is taken as the next step will use it.
   */
  take({ session, tensors }: DeviceParts, iteration: number): Promise<ModelCheckpoint> {
    const submitted = session.enqueue(() => {
      assertNotLost(session.gpu);
      const read = submitCheckpoint(session.gpu, iteration, {
        params: tensors.params.buffer,
        state: tensors.state.buffer,
        update: session.ruleSources(),
      });
      return {
        done: read.then((c) => {
          if (!this.last || this.last.iteration <= iteration) this.last = c;
          return c;
        }),
      };
    });
    return submitted.then((r) => r.done);
  }

  /** The device while it lives, else the newest checkpoint's iteration. */
  source(gpu: GpuContext): ParamsSource {
    return gpu.lostInfo && this.last ? { source: 'checkpoint', iteration: this.last.iteration } : { source: 'device' };
  }

  /** Every tensor of the newest checkpoint by name, in the model's view (getParams after a loss); an error if none was taken. */
  tensors(gpu: GpuContext, tensors: ModelTensors): Record<string, NamedTensor> {
    const c = this.last;
    if (!c)
      throw new Error(
        `${this.modelName}: the GPU device was lost (${gpu.lostInfo?.reason}: ${gpu.lostInfo?.message}) before any host checkpoint was taken`,
      );
    return tensors.viewOf({ ...unflattenStore(tensors.params.layout, c.params), ...unflattenStore(tensors.state.layout, c.state) });
  }
}

/**
 * A model's device parts made anew on `gpu` at `checkpoint`: stores with its values, the update rule with its
 * config and slots, the data `attached` uploaded again (when there is some); plans compile on first use. On a
 * failure whatever was made is freed and nothing else is touched.
 *   const parts = await createPartsAt(newGpu, definition, 1, model.checkpointed!, data, oldTensors);
 */
export async function createPartsAt(
  gpu: GpuContext,
  definition: ModelDefinition,
  models: number,
  checkpoint: ModelCheckpoint,
  attached: unknown,
  current: ModelTensors,
): Promise<DeviceParts> {
  assertCheckpointFits(checkpoint, current.params.layout, current.state.layout, `${definition.name}.rebuildOn`);
  const scope = createScope(gpu);
  let session: TrainingSession | null = null;
  try {
    const tensors = createModelTensors(scope, definition, checkpoint);
    session = new TrainingSession(gpu, definition, models, tensors);
    if (checkpoint.update) await session.setUpdateRule(checkpoint.update.rule, checkpoint.update.config, checkpoint.update.slots);
    if (attached !== undefined) await session.attachData(attached);
    return { scope, tensors, session };
  } catch (e) {
    session?.abandon();
    scope.destroy();
    throw e;
  }
}
