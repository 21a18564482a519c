// planPopulationGroups against byte counts worked out by hand: the stores' 256-byte ranges, the binding limit, the budget.
import { expect, test } from 'vitest';
import { makeGroupSizes, planPopulationGroups } from '../../src/nn/population-size.ts';

const defaults = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }; // WebGPU's default limits
const seedNet = { dims: [3072, 50, 10], normalization: 'batchnorm' as const, updateRule: 'adam', batchSize: 50 };

test('a [50] batchnorm net: 209 models fit a 128 MiB binding, 210 do not (hand count of the parameter store)', () => {
  // stored widths [3072, 52, 10]; per model W1 3072·52·4 = 638976 bytes, W2 52·10·4 = 2080, b1 gamma1 beta1 208 each, b2 40
  // 209 models: W1 133545984 + W2 ceil(434720/256)·256 = 434944 + three of ceil(43472/256)·256 = 43520 + b2 ceil(8360/256)·256 = 8448
  //           = 134119936 <= 134217728; 210 models: W1 134184960 + W2 436992 alone pass it
  const plan = planPopulationGroups(defaults, seedNet, { models: 500 });
  expect(plan.modelsPerGroup).toBe(209);
  expect(plan.groups).toEqual([209, 209, 82]);
  expect(plan.binding).toBe(2 ** 27);
  expect(plan.limit).toBe('maxStorageBufferBindingSize');
  // per model: params 638976 + 2080 + 3·208 + 40 = 641720; grads the same; Adam's m and v two more; running mean and
  // variance 2·208; activations 6 copies of batch 50 × (52 + 10) f32 = 74400
  expect(plan.perModel).toEqual({ params: 641720, grads: 641720, slots: 1283440, state: 416, activations: 74400, total: 2641696 });
  // 4 GiB / 2641696 = 1625.8
  expect(plan.maxModels).toBe(1625);
  expect(plan.budgetFrom).toBe('default 4 GiB');
});

test('a memory budget, a smaller maxBufferSize, a forced group size', () => {
  const budget = planPopulationGroups(defaults, seedNet, { memoryBudget: 1e9 });
  expect(budget.maxModels).toBe(378); // 1e9 / 2641696 = 378.5
  expect(budget.budgetFrom).toBe('memoryBudget');
  expect(budget.groups).toEqual([]);
  const small = planPopulationGroups({ maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 26 }, seedNet, { models: 200 });
  expect(small.limit).toBe('maxBufferSize');
  expect(small.modelsPerGroup).toBe(104); // 104 · 638976 = 66453504 + W2 216320 + ... <= 67108864; 105 · 638976 = 67092480 + 218624 > it
  const forced = planPopulationGroups(defaults, seedNet, { models: 20, maxModelsPerGroup: 7 });
  expect(forced.groups).toEqual([7, 7, 6]);
  // SGD keeps no slots
  expect(planPopulationGroups(defaults, { ...seedNet, updateRule: 'sgd' }).perModel.slots).toBe(0);
});

test('bad input: clear errors naming the cause', () => {
  expect(() => planPopulationGroups(defaults, { ...seedNet, dims: [100000, 1000, 10] })).toThrow(
    /one model of layers \[100000, 1000, 10\] needs a 400\d+-byte parameter store, more than maxStorageBufferBindingSize/,
  );
  expect(() => planPopulationGroups(defaults, { ...seedNet, updateRule: 'lion' })).toThrow('unknown update rule "lion"');
  expect(() => planPopulationGroups(defaults, seedNet, { models: 0 })).toThrow('models must be an integer >= 1, got 0');
  expect(() => planPopulationGroups(defaults, seedNet, { maxModelsPerGroup: -1 })).toThrow('maxModelsPerGroup must be an integer >= 1');
  expect(() => planPopulationGroups(defaults, seedNet, { memoryBudget: 0.5 })).toThrow('memoryBudget must be a whole number of bytes');
  expect(() => planPopulationGroups(defaults, { ...seedNet, batchSize: 0 })).toThrow('batchSize must be an integer >= 1, got 0');
});

test('makeGroupSizes: contiguous groups, the last the remainder', () => {
  expect(makeGroupSizes(7, 3)).toEqual([3, 3, 1]);
  expect(makeGroupSizes(4, 10)).toEqual([4]);
  expect(makeGroupSizes(6, 3)).toEqual([3, 3]);
});
