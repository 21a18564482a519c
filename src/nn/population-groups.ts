// A population split into groups of contiguous models, each a FullyConnectedPopulation within the device's binding limits, all stepped on one minibatch and one upload of the data.
import type { GpuContext } from '../gpu/device.ts';
import type { ModelCheckpoint } from '../graph/checkpoint.ts';
import { sizeOf } from '../graph/graph.ts';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../graph/safetensors.ts';
import type { TensorValues } from '../graph/tensors.ts';
import { resolveNetOptions } from '../reference/fc-net.ts';
import type { HostValues } from '../solver/loop-model.ts';
import { FullyConnectedPopulation, type PopulationMember, type PopulationOptions } from './population.ts';
import { planPopulationGroups, type PopulationGroupPlan } from './population-size.ts';
import { concatFloats, joinCheckpoints, splitCheckpoint, splitValues } from './population-parts.ts';

export interface PopulationGroupsOptions extends PopulationOptions {
  /** At most this many models a group (default: as many as fit one storage binding); a test forces a split with it. */
  maxModelsPerGroup?: number;
  /** The largest batch the population will run (training or accuracy chunks; default 1000): its activations must fit a binding too. */
  batchSize?: number;
}

/**
 * M fully-connected nets trained side by side, in as many groups as the device's limits need: a group is a
 * FullyConnectedPopulation whose stores and activations each fit one storage binding (planPopulationGroups), so a
 * laptop's 128 MiB bindings hold hundreds of nets. Every group runs the same kernels on its own models (model k
 * equals model k of one unsplit population bit for bit), on the same minibatch each step and one upload of the data.
 * It is a PopulationModel (PopulationSolver trains it) and survives device losses as one population does.
 *   const pop = await PopulationGroups.create(gpu, [50], { useBatchnorm: true, members: scales.map((weightScale) => ({ weightScale })) });
 *   const result = await new PopulationSolver(pop, data, { updateRule: 'adam' }).train(); // pop.groups.length >= 1
 */
export class PopulationGroups {
  readonly models: number;
  /** The plan the groups follow: bytes per model, the binding limit, models per group, the most models the 4 GiB budget holds. */
  readonly plan: PopulationGroupPlan;
  private readonly firsts: number[];
  /** Whether data is attached (the first group uploaded it; a rebuild uploads it there again and shares it anew). */
  private dataAttached = false;

  private constructor(
    readonly groups: FullyConnectedPopulation[],
    plan: PopulationGroupPlan,
  ) {
    this.plan = plan;
    this.firsts = groups.map((_, g) => groups.slice(0, g).reduce((a, p) => a + p.models, 0));
    this.models = groups.reduce((a, p) => a + p.models, 0);
  }

  /**
   * Build the population on `gpu` in groups of at most `maxModelsPerGroup` (default: the most one binding holds); the
   * options are FullyConnectedPopulation's. One group when everything fits.
   *   const pop = await PopulationGroups.create(gpu, [50], { members, maxModelsPerGroup: 3 }); // 7 members: groups of 3, 3, 1
   */
  static async create(gpu: GpuContext, hiddenDims: number[], options: PopulationGroupsOptions): Promise<PopulationGroups> {
    const { maxModelsPerGroup, batchSize = 1000, ...single } = options;
    const { members } = single;
    if (!Array.isArray(members) || members.length < 1) throw new Error('PopulationGroups: members must list at least one model');
    if (maxModelsPerGroup !== undefined && !(Number.isInteger(maxModelsPerGroup) && maxModelsPerGroup >= 1))
      throw new Error(`PopulationGroups: maxModelsPerGroup must be an integer >= 1, got ${maxModelsPerGroup}`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new Error(`PopulationGroups: batchSize must be an integer >= 1, got ${batchSize}`);
    const { inputDim, numClasses, normalization, useBatchnorm } = single;
    const given = Object.entries({ inputDim, numClasses, normalization, useBatchnorm }).filter(([, v]) => v !== undefined);
    const net = resolveNetOptions(hiddenDims, Object.fromEntries(given), 'PopulationGroups'); // the sizes only; each group checks the rest
    const plan = planPopulationGroups(
      gpu.device.limits,
      { dims: net.dims, normalization: net.normalization, updateRule: 'adam', batchSize },
      { models: members.length, maxModelsPerGroup },
    );
    const groups: FullyConnectedPopulation[] = [];
    try {
      let first = 0;
      for (const size of plan.groups) {
        groups.push(await FullyConnectedPopulation.create(gpu, hiddenDims, { ...single, members: members.slice(first, first + size) }));
        first += size;
      }
    } catch (e) {
      await Promise.all(groups.map((p) => p.destroy()));
      throw e;
    }
    return new PopulationGroups(groups, plan);
  }

  /** The device the groups live on (a new one after `rebuildOn`). */
  get gpu(): GpuContext {
    return this.groups[0]!.gpu;
  }
  get members(): Required<PopulationMember>[] {
    return this.groups.flatMap((p) => p.members);
  }
  get hiddenDims(): number[] {
    return this.groups[0]!.hiddenDims;
  }
  get normalization() {
    return this.groups[0]!.normalization;
  }
  get backwardVariant(): 'graph' | 'alternative' {
    return this.groups[0]!.backwardVariant;
  }

  /** Upload the data once (the first group) and let every other group train on that upload. */
  async attachData(data: unknown): Promise<void> {
    for (const p of this.groups.slice(1)) await p.releaseData(); // their steps end before the old upload is freed
    await this.groups[0]!.attachData(data);
    for (const p of this.groups.slice(1)) await p.shareDataOf(this.groups[0]!);
    this.dataAttached = true;
  }

  /** Free the data: the groups that share it first, then the one that uploaded it. */
  async releaseData(): Promise<void> {
    for (const p of this.groups.slice(1)) await p.releaseData();
    await this.groups[0]!.releaseData();
    this.dataAttached = false;
  }

  async setUpdateRule(rule: string, optimConfig: Record<string, number>): Promise<void> {
    await Promise.all(this.groups.map((p) => p.setUpdateRule(rule, optimConfig)));
  }

  /** One rate for every model, or one per model (each group gets its models' rates). */
  setLearningRate(lr: number | readonly number[]): void {
    if (typeof lr !== 'number' && lr.length !== this.models)
      throw new Error(`setLearningRate: ${lr.length} learning rates for ${this.models} models`);
    this.groups.forEach((p, g) => p.setLearningRate(typeof lr === 'number' ? lr : lr.slice(this.firsts[g], this.firsts[g]! + p.models)));
  }

  /** One step of every model on rows `indices` (each group one submit); resolves to every model's loss, in model order. */
  async stepModels(indices: Uint32Array): Promise<Float64Array> {
    return concatFloats(await Promise.all(this.groups.map((p) => p.stepModels(indices))), Float64Array);
  }

  /** Several steps in one submit per group; each step's losses in model order. */
  async stepModelsMany(indicesList: readonly Uint32Array[]): Promise<Float64Array[]> {
    const each = await Promise.all(this.groups.map((p) => p.stepModelsMany(indicesList)));
    return indicesList.map((_, j) =>
      concatFloats(
        each.map((steps) => steps[j]!),
        Float64Array,
      ),
    );
  }

  async accuracyModels(split: 'train' | 'val', indices: Uint32Array): Promise<Float64Array> {
    return concatFloats(await Promise.all(this.groups.map((p) => p.accuracyModels(split, indices))), Float64Array);
  }

  /** Dispatches of one training step of every group at batch size `batch`. */
  async dispatchesPerStep(batch: number): Promise<number> {
    return (await Promise.all(this.groups.map((p) => p.dispatchesPerStep(batch)))).reduce((a, b) => a + b, 0);
  }

  /** Host copies of every group's stores, one after another (group g's params, then g + 1's; the same for the state). */
  async snapshot(): Promise<HostValues> {
    const each = await Promise.all(this.groups.map((p) => p.snapshot()));
    return {
      params: concatFloats(
        each.map((s) => s.params),
        Float32Array,
      ),
      state: concatFloats(
        each.map((s) => s.state),
        Float32Array,
      ),
    };
  }

  /** Where model k's values sit in a snapshot: its group's ranges, moved past the groups before it. */
  snapshotRanges(k: number): { params: [number, number][]; state: [number, number][] } {
    const { g, local } = this.groupOf(k, 'snapshotRanges');
    const at = this.storeStarts(g);
    const r = this.groups[g]!.snapshotRanges(local);
    const move = (list: [number, number][], by: number) => list.map(([a, b]): [number, number] => [a + by, b + by]);
    return { params: move(r.params, at.params), state: move(r.state, at.state) };
  }

  /** Put a snapshot (of this population) back; one of another shape is refused before anything is written. */
  async restore(snapshot: unknown): Promise<void> {
    const s = snapshot as HostValues;
    const at = this.storeStarts(this.groups.length);
    if (
      !(s?.params instanceof Float32Array) ||
      s.params.length !== at.params ||
      !(s.state instanceof Float32Array) ||
      s.state.length !== at.state
    )
      throw new Error('PopulationGroups.restore: not a snapshot of this population');
    await Promise.all(
      this.groups.map((p, g) => {
        const [a, b] = [this.storeStarts(g), this.storeStarts(g + 1)];
        return p.restore({ params: s.params.subarray(a.params, b.params), state: s.state.subarray(a.state, b.state) });
      }),
    );
  }

  /** Every tensor by name with all M models stacked (model k's block the k-th), the real widths: as one population's getParams. */
  async getParams(): Promise<Record<string, NamedTensor>> {
    const each = await Promise.all(this.groups.map((p) => p.getParams()));
    return Object.fromEntries(
      Object.keys(each[0]!).map((name) => {
        const data = concatFloats(
          each.map((t) => t[name]!.data),
          Float32Array,
        );
        return [name, { data, shape: this.stackedShape(name) }];
      }),
    );
  }

  /** Overwrite tensors by name (all M models stacked); every entry is checked before any group is written. */
  setParams(values: TensorValues): void {
    const shapes = Object.fromEntries(Object.keys(this.groups[0]!.modelShapes).map((n) => [n, this.stackedShape(n)]));
    const parts = splitValues(
      values,
      shapes,
      this.groups.map((p) => p.models),
      'setParams',
    );
    this.groups.forEach((p, g) => p.setParams(parts[g]!));
  }

  /** The parameters and state as one safetensors file, as one unsplit population's. */
  async saveSafetensors(): Promise<Uint8Array> {
    return encodeSafetensors(await this.getParams(), { ...this.groups[0]!.definition.metadata, models: String(this.models) });
  }

  /** Load a file of this population's tensors (one unsplit population's file loads); missing tensors are an error unless `partial`. */
  loadSafetensors(bytes: Uint8Array, options: { partial?: boolean } = {}): void {
    const file = decodeSafetensors(bytes);
    const missing = Object.keys(this.groups[0]!.modelShapes).filter((n) => !Object.hasOwn(file, n));
    if (missing.length && !options.partial)
      throw new Error(
        `loadSafetensors: the file lacks ${missing.join(', ')} of this population (pass { partial: true } to load only what it has)`,
      );
    this.setParams(file);
  }

  /** Model k's tensors, named and shaped as the single net's. */
  modelParams(k: number): Promise<Record<string, NamedTensor>> {
    const { g, local } = this.groupOf(k, 'modelParams');
    return this.groups[g]!.modelParams(local);
  }

  /** Model k as a safetensors file of a single net. */
  saveModelSafetensors(k: number): Promise<Uint8Array> {
    const { g, local } = this.groupOf(k, 'saveModelSafetensors');
    return this.groups[g]!.saveModelSafetensors(local);
  }

  /** A host checkpoint of every group behind its queued steps, joined as one (stores one after another, as `snapshot`). */
  async checkpoint(iteration: number): Promise<ModelCheckpoint> {
    return joinCheckpoints(await Promise.all(this.groups.map((p) => p.checkpoint(iteration))));
  }

  /** Move every group to `gpu` at `checkpoint` (one of this population's): the first group uploads the data again, the others share it. */
  async rebuildOn(gpu: GpuContext, checkpoint: ModelCheckpoint): Promise<void> {
    const sizes = this.groups.map((_, g) => {
      const [a, b] = [this.storeStarts(g), this.storeStarts(g + 1)];
      return { params: b.params - a.params, state: b.state - a.state };
    });
    const parts = splitCheckpoint(checkpoint, sizes, 'PopulationGroups.rebuildOn');
    for (const [g, p] of this.groups.entries()) await p.rebuildOn(gpu, parts[g]!);
    if (this.dataAttached) for (const p of this.groups.slice(1)) await p.shareDataOf(this.groups[0]!);
  }

  /** Free every group (the data's owner last). */
  async destroy(): Promise<void> {
    for (const p of this.groups.slice(1)) await p.destroy();
    await this.groups[0]!.destroy();
  }

  private groupOf(k: number, what: string): { g: number; local: number } {
    if (!Number.isInteger(k) || k < 0 || k >= this.models) throw new Error(`${what}: model ${k} is not in 0..${this.models - 1}`);
    let g = this.firsts.length - 1;
    while (this.firsts[g]! > k) g--;
    return { g, local: k - this.firsts[g]! };
  }

  /** Where group g's stores start in a snapshot (f32 counts; g = groups.length: the totals). */
  private storeStarts(g: number): { params: number; state: number } {
    const before = this.groups.slice(0, g);
    return {
      params: before.reduce((a, p) => a + p.params.layout.bytes / 4, 0),
      state: before.reduce((a, p) => a + p.state.layout.bytes / 4, 0),
    };
  }

  private stackedShape(name: string): number[] {
    const one = this.groups[0]!.modelShapes[name]!;
    return one.length === 2 ? [this.models, ...one] : [this.models * sizeOf(one)];
  }
}
