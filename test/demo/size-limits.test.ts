// What a panel's settings will allocate (demo/size-limits.ts, shared by the page and the CLI), against a fake device's limits and hand-computed sizes.
import { describe, expect, it } from 'vitest';
import { checkPlannedSizes, MEMORY_BUDGET_BYTES, plannedBytes, plannedTensors } from '../../demo/size-limits.ts';
import { defaultSettings, panelNames, type PanelSettings } from '../../demo/url-state.ts';

/** The limits WebGPU guarantees every adapter (the spec's defaults): what the most modest device grants. */
const defaultLimits = { maxBufferSize: 268435456, maxStorageBufferBindingSize: 134217728 };
const label = (k: string) => `field ${k}`;
const deep = (): PanelSettings => ({
  ...defaultSettings('batchnorm'),
  hidden: Array(30).fill(4096),
  batchSize: 50,
  numTrain: 1000,
  numVal: 1000,
  updateRule: 'adam',
});

describe('planned sizes', () => {
  it("every panel's default settings fit the smallest device WebGPU allows and the budget", () => {
    for (const panel of panelNames)
      expect(() => checkPlannedSizes(panel, defaultSettings(panel), defaultLimits, label), panel).not.toThrow();
  });

  it('lists the tensors with the setting that sizes each', () => {
    const t = plannedTensors('forward', { n: 200, d1: 50, d2: 60, d3: 3 });
    expect(t.map((x) => [x.key, x.name, x.shape.join('x')])).toEqual([
      ['n', 'x', '200x50'],
      ['n', 'h', '200x60'],
      ['d2', 'W1', '50x60'],
      ['d3', 'W2', '60x3'],
    ]);
  });

  it('counts the bytes of experiment 1 by hand: 2 nets of 30 layers of 4096 with Adam, activations, images', () => {
    // parameters: W1 3072·4096 + b1 4096, W2..W30 29·(4096² + 4096), W31 4096·10 + 10, gamma and beta 2·30·4096
    const params = 3072 * 4096 + 4096 + 29 * (4096 * 4096 + 4096) + 4096 * 10 + 10 + 2 * 30 * 4096;
    expect(params).toBe(499531786);
    // per model: params, grads, Adam's m and v, and the running mean and variance; 2 models; f32
    const models = 2 * 4 * (4 * params + 2 * 30 * 4096);
    const activations = 4 * 6 * 50 * (3072 + 30 * 4096 + 10); // 6 [batch, width] buffers a layer at least
    const images = 2000 * 3072;
    const r = plannedBytes('batchnorm', deep());
    expect(r.parts.map((p) => p.bytes)).toEqual([models, activations, images]);
    expect(r.total).toBe(16144281632);
  });

  it('refuses a run over the memory budget, naming the setting, the total, its parts and the budget, on any adapter', () => {
    // every tensor fits the smallest limits (W2 is 4096² f32 = 67 MB), so the budget is what refuses it
    expect(() => checkPlannedSizes('batchnorm', deep(), defaultLimits, label)).toThrow(
      "field hidden: the run plans 16.1 GB (the 2 models' parameters, gradients and adam state 16.0 GB, " +
        "a step's activations (batch 50) 151 MB, 2000 images (uint8) 6.14 MB) > the memory budget 4.29 GB",
    );
    expect(MEMORY_BUDGET_BYTES).toBe(4294967296);
    // a budget given by the caller; sgd keeps no state, so the same net plans half
    expect(() => checkPlannedSizes('batchnorm', { ...deep(), updateRule: 'sgd' }, defaultLimits, label, 9e9)).not.toThrow();
    expect(() => checkPlannedSizes('batchnorm', { ...deep(), updateRule: 'sgd' }, defaultLimits, label, 8e9)).toThrow(
      '> the memory budget 8.00 GB',
    );
  });

  it("counts a sweep's population and every batch-size run as models kept at once", () => {
    const one = plannedBytes('batchnorm', { ...deep(), hidden: [100] }).parts[0]!.bytes / 2;
    const sweep = plannedBytes('sweep', { ...deep(), hidden: [100], numScales: 20 }).parts[0]!;
    expect(sweep.bytes).toBe(20 * one);
    const bs = { ...deep(), hidden: [100], batchSizes: [5, 10, 50], baselineBatch: 5 };
    expect(plannedBytes('batchsize', { ...bs, normalization: 'both' }).parts[0]!.bytes).toBe(7 * one);
    expect(plannedBytes('batchsize', { ...bs, normalization: 'layernorm' }).parts[0]!.bytes).toBe(4 * one);
    // the activations: the largest batch, named by the field that sets it
    expect(plannedBytes('batchsize', { ...bs, normalization: 'both' }).parts[1]).toMatchObject({ key: 'batchSizes' });
  });

  it('checks the device limits before the budget, and whole-bound tensors against maxStorageBufferBindingSize', () => {
    // W1 3072 x 11000 f32 = 135 MB: over the 134 MB binding limit, under the 268 MB buffer limit
    expect(() => checkPlannedSizes('batchnorm', { ...deep(), hidden: [11000] }, defaultLimits, label)).toThrow(
      'field hidden: W1 is 3072x11000 f32 = 135 MB > maxStorageBufferBindingSize 134 MB',
    );
    expect(() => checkPlannedSizes('forward', { n: 100000, d1: 4096, d2: 60, d3: 3 }, defaultLimits, label)).toThrow(
      'field n: x is 100000x4096 f32 = 1.64 GB > maxBufferSize 268 MB',
    );
  });

  it('a sweep over the budget says how many of its nets one population may hold (planPopulationGroups, images excluded)', () => {
    const sweep = {
      ...defaultSettings('sweep'),
      hidden: [50],
      numScales: 5000,
      batchSize: 50,
      numTrain: 1000,
      numVal: 1000,
      updateRule: 'adam',
    };
    // per model 2641696 bytes (test/nn/population-size.test.ts); (4 GiB - 2000 images of 3072 bytes) / 2641696 = 1623.5
    expect(() => checkPlannedSizes('sweep', sweep, defaultLimits, label)).toThrow(
      'at most 1623 of these nets fit it as one population (field numScales asks for 5000)',
    );
  });
});
