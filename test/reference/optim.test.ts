// The four update rules against steps computed by hand, and the cs231n reference values.
import { describe, expect, it } from 'vitest';
import { adam, getUpdateRule, relError, rmsprop, sgd, sgdMomentum, updateRules } from '../../src/reference/index.ts';

const w0 = Float64Array.of(1, 2, 3);
const dw1 = Float64Array.of(0.5, -1, 2);
const dw2 = Float64Array.of(1, 1, 1);

/** numpy's linspace(start, stop, n). */
function linspace(start: number, stop: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => start + ((stop - start) * i) / (n - 1));
}

describe('sgd', () => {
  it('takes two steps w -= 0.1 * dw', () => {
    const s1 = sgd(w0, dw1, { learningRate: 0.1 });
    expect(relError(s1.nextW, [1 - 0.05, 2 + 0.1, 3 - 0.2])).toBeLessThan(1e-15);
    const s2 = sgd(s1.nextW, dw2, s1.config);
    expect(relError(s2.nextW, [0.95 - 0.1, 2.1 - 0.1, 2.8 - 0.1])).toBeLessThan(1e-15);
  });

  it('defaults learningRate to 1e-2 and leaves w alone', () => {
    const { nextW, config } = sgd(w0, dw1);
    expect(config).toEqual({ learningRate: 1e-2 });
    expect(relError(nextW, [0.995, 2.01, 2.98])).toBeLessThan(1e-15);
    expect(Array.from(w0)).toEqual([1, 2, 3]);
  });
});

describe('sgdMomentum', () => {
  it('takes two steps with v = 0.9 v - 0.1 dw, w += v', () => {
    const s1 = sgdMomentum(w0, dw1, { learningRate: 0.1 });
    expect(relError(s1.config.velocity, [-0.05, 0.1, -0.2])).toBeLessThan(1e-15);
    expect(relError(s1.nextW, [0.95, 2.1, 2.8])).toBeLessThan(1e-15);
    const s2 = sgdMomentum(s1.nextW, dw2, s1.config);
    // v2 = 0.9 * [-0.05, 0.1, -0.2] - 0.1 * [1, 1, 1] = [-0.145, -0.01, -0.28]
    expect(relError(s2.config.velocity, [-0.145, -0.01, -0.28])).toBeLessThan(1e-14);
    expect(relError(s2.nextW, [0.95 - 0.145, 2.1 - 0.01, 2.8 - 0.28])).toBeLessThan(1e-15);
    expect(s2.config.momentum).toBe(0.9);
  });

  it('reproduces the cs231n reference values', () => {
    const w = linspace(-0.4, 0.6, 20);
    const dw = linspace(-0.6, 0.4, 20);
    const { nextW, config } = sgdMomentum(w, dw, { learningRate: 1e-3, velocity: linspace(0.6, 0.9, 20) });
    const expectedNextW = [
      0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789, 0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526, 0.80849474,
      0.87528421, 0.94207368, 1.00886316, 1.07565263, 1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096,
    ];
    const expectedVelocity = [
      0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158, 0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105, 0.68217895,
      0.69633684, 0.71049474, 0.72465263, 0.73881053, 0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096,
    ];
    expect(relError(nextW, expectedNextW)).toBeLessThan(1e-8);
    expect(relError(config.velocity, expectedVelocity)).toBeLessThan(1e-8);
  });
});

describe('rmsprop', () => {
  it('takes two steps with cache = 0.99 cache + 0.01 dw^2, w -= 0.01 dw / (sqrt(cache) + 1e-8)', () => {
    const s1 = rmsprop(w0, dw1);
    // cache1 = 0.01 * [0.25, 1, 4]; sqrt = [0.05, 0.1, 0.2]
    expect(relError(s1.config.cache, [0.0025, 0.01, 0.04])).toBeLessThan(1e-15);
    expect(relError(s1.nextW, [1 - 0.005 / (0.05 + 1e-8), 2 + 0.01 / (0.1 + 1e-8), 3 - 0.02 / (0.2 + 1e-8)])).toBeLessThan(1e-15);
    const s2 = rmsprop(s1.nextW, dw2, s1.config);
    // cache2 = 0.99 * cache1 + 0.01 * [1, 1, 1] = [0.012475, 0.0199, 0.0496]
    expect(relError(s2.config.cache, [0.012475, 0.0199, 0.0496])).toBeLessThan(1e-14);
    const w2 = [0.012475, 0.0199, 0.0496].map((c, i) => s1.nextW[i] - 0.01 / (Math.sqrt(c) + 1e-8));
    expect(relError(s2.nextW, w2)).toBeLessThan(1e-15);
    expect(s2.config).toMatchObject({ learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8 });
  });

  it('reproduces the cs231n reference values', () => {
    const w = linspace(-0.4, 0.6, 20);
    const dw = linspace(-0.6, 0.4, 20);
    const { nextW, config } = rmsprop(w, dw, { learningRate: 1e-2, cache: linspace(0.6, 0.9, 20) });
    const expectedNextW = [
      -0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247, -0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774,
      0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447, 0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619,
    ];
    const expectedCache = [
      0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321, 0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377, 0.75037008,
      0.7659518, 0.78158892, 0.79728144, 0.81302936, 0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926,
    ];
    expect(relError(nextW, expectedNextW)).toBeLessThan(1e-7); // the values are printed to 8 decimals
    expect(relError(config.cache, expectedCache)).toBeLessThan(1e-8);
  });
});

describe('adam', () => {
  it('takes two steps, incrementing t before the bias correction', () => {
    const s1 = adam(w0, dw1, { learningRate: 0.1 });
    expect(s1.config.t).toBe(1);
    // t = 1: m = 0.1 dw, v = 0.001 dw^2; mHat = m / (1 - 0.9) = dw, vHat = v / (1 - 0.999) = dw^2.
    expect(relError(s1.config.m, [0.05, -0.1, 0.2])).toBeLessThan(1e-15);
    expect(relError(s1.config.v, [0.00025, 0.001, 0.004])).toBeLessThan(1e-14);
    const w1 = [1 - (0.1 * 0.5) / (0.5 + 1e-8), 2 + (0.1 * 1) / (1 + 1e-8), 3 - (0.1 * 2) / (2 + 1e-8)];
    expect(relError(s1.nextW, w1)).toBeLessThan(1e-14);
    const s2 = adam(s1.nextW, dw2, s1.config);
    expect(s2.config.t).toBe(2);
    // t = 2: m = 0.9 m + 0.1 = [0.145, 0.01, 0.28]; v = 0.999 v + 0.001 = [0.00124975, 0.001999, 0.004996];
    // mHat = m / (1 - 0.81), vHat = v / (1 - 0.998001).
    const m2 = [0.145, 0.01, 0.28];
    const v2 = [0.00124975, 0.001999, 0.004996];
    expect(relError(s2.config.m, m2)).toBeLessThan(1e-14);
    expect(relError(s2.config.v, v2)).toBeLessThan(1e-14);
    const w2 = m2.map((m, i) => w1[i] - (0.1 * (m / 0.19)) / (Math.sqrt(v2[i] / 0.001999) + 1e-8));
    expect(relError(s2.nextW, w2)).toBeLessThan(1e-12);
    expect(s2.config).toMatchObject({ learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  });

  it('reproduces the cs231n reference values (t = 5 in, corrected with t = 6)', () => {
    const w = linspace(-0.4, 0.6, 20);
    const dw = linspace(-0.6, 0.4, 20);
    const { nextW, config } = adam(w, dw, { learningRate: 1e-2, m: linspace(0.6, 0.9, 20), v: linspace(0.7, 0.5, 20), t: 5 });
    const expectedNextW = [
      -0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977, -0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929,
      0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969, 0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459,
    ];
    const expectedV = [
      0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853, 0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385, 0.59414753,
      0.58362676, 0.57311152, 0.56260183, 0.55209767, 0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966,
    ];
    const expectedM = [
      0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474, 0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316, 0.67473684,
      0.69421053, 0.71368421, 0.73315789, 0.75263158, 0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85,
    ];
    expect(config.t).toBe(6);
    // Printed to 8 decimals: every value agrees to within half a unit of the last printed digit.
    nextW.forEach((v, i) => expect(Math.abs(v - expectedNextW[i])).toBeLessThanOrEqual(5e-9));
    expect(relError(nextW, expectedNextW)).toBeLessThan(2e-7);
    expect(relError(config.v, expectedV)).toBeLessThan(1e-8);
    expect(relError(config.m, expectedM)).toBeLessThan(1e-8);
  });
});

describe('rule lookup and config checks', () => {
  it('maps the seed names to the rules', () => {
    expect(Object.keys(updateRules)).toEqual(['sgd', 'sgd_momentum', 'rmsprop', 'adam']);
    expect(getUpdateRule('sgd_momentum')).toBe(sgdMomentum);
    expect(getUpdateRule('adam')).toBe(adam);
  });

  it('rejects an unknown rule, an unknown config key, a bad value and mismatched lengths', () => {
    expect(() => getUpdateRule('adagrad')).toThrow('unknown update rule "adagrad" (expected one of sgd, sgd_momentum, rmsprop, adam)');
    expect(() => getUpdateRule('toString')).toThrow(/unknown update rule "toString"/);
    expect(() => sgd(w0, dw1, { learning_rate: 1 } as never)).toThrow(
      'sgd: unknown config key "learning_rate" (expected one of learningRate)',
    );
    expect(() => getUpdateRule('sgd')(w0, dw1, { momentum: 0.9 })).toThrow(/sgd: unknown config key "momentum"/);
    expect(() => adam(w0, dw1, { m: new Float64Array(2) })).toThrow('adam: config.m must be a Float64Array of length 3');
    expect(() => rmsprop(w0, Float64Array.of(1, 2))).toThrow('rmsprop: dw has 2 elements, w has 3');
  });

  it('does not modify the input config or its state arrays', () => {
    const velocity = Float64Array.of(1, 1, 1);
    const input = { learningRate: 0.1, velocity };
    const { config } = sgdMomentum(w0, dw1, input);
    expect(input).toEqual({ learningRate: 0.1, velocity: Float64Array.of(1, 1, 1) });
    expect(config.velocity).not.toBe(velocity);
  });
});
