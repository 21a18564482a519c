// FullyConnectedNeuralNet: construction, the seed's cell 7 gradient checks, regularization, and test-mode scores.
import { describe, expect, it } from 'vitest';
import {
  FullyConnectedNeuralNet,
  affineForward,
  evalNumericalGradient,
  fillInitNormals,
  makeRng,
  makeTensor,
  relError,
  reluForward,
} from '../../src/reference/index.ts';
import type { Tensor } from '../../src/reference/index.ts';

const H = 1e-5;

/**
 * Checks every analytic gradient of `model.loss(X, y)` against numerical gradients, element by element:
 * `|num - ana| <= 1e-5 * (|num| + |ana|) + floor`.
 *
 * Why not the seed's plain `relError(evalNumericalGradient(f, p, 1e-5), ana) < 1e-5`: its 1e-8 floor
 * demands an absolute error under 1e-13 for tiny elements, but a central difference of a loss of
 * size L resolves only about `eps_machine * L / h` ~ 5e-11 (so a pre-batchnorm bias, whose true
 * gradient is exactly 0, scores ~2e-3), and with N = 2 batchnorm the loss bends on the scale of
 * sqrt(bn eps) ~ 3e-3, so the h^2 truncation error of h = 1e-5 reaches 1e-4 relative. Hence:
 * Richardson extrapolation of evalNumericalGradient at h and h/2 (cancels the h^2 term), and a floor
 * of 16 units of that resolution (~1e-9), far below any gradient a real bug would disturb.
 */
function expectGradientsClose(model: FullyConnectedNeuralNet, X: Tensor, y: number[]): void {
  const { loss, grads } = model.loss(X, y);
  expect(Number.isFinite(loss)).toBe(true);
  expect(Object.keys(grads).sort()).toEqual(Object.keys(model.params).sort());
  const floor = (16 * Number.EPSILON * Math.abs(loss)) / H;
  const f = (): number => model.loss(X, y).loss;
  for (const name of Object.keys(grads).sort()) {
    const p = model.params[name];
    expect(grads[name].shape, name).toEqual(p.shape);
    const numH = evalNumericalGradient(f, p.data, H);
    const numHalf = evalNumericalGradient(f, p.data, H / 2);
    let worst = 0;
    grads[name].data.forEach((ana, i) => {
      const num = (4 * numHalf[i] - numH[i]) / 3;
      worst = Math.max(worst, Math.abs(num - ana) / (1e-5 * (Math.abs(num) + Math.abs(ana)) + floor));
    });
    expect(worst, `${name}: worst |num - ana| over its tolerance`).toBeLessThan(1);
  }
}

/** The seed's plain check: relError(evalNumericalGradient(f, p, 1e-5), analytic). */
function seedRelError(model: FullyConnectedNeuralNet, X: Tensor, y: number[], name: string): number {
  const { grads } = model.loss(X, y);
  return relError(
    evalNumericalGradient(() => model.loss(X, y).loss, model.params[name].data, H),
    grads[name].data,
  );
}

/** The smallest |ReLU input| of a train-mode forward pass of a net without batchnorm (its distance to a kink). */
function minDistanceToKink(model: FullyConnectedNeuralNet, X: Tensor): number {
  let h = X;
  let m = Infinity;
  for (let l = 1; l < model.numLayers; l++) {
    const a = affineForward(h, model.params[`W${l}`], model.params[`b${l}`]).out;
    for (const v of a.data) m = Math.min(m, Math.abs(v));
    h = reluForward(a).out;
  }
  return m;
}

/** The seed's cell 7 data: N x D standard normal X and N labels in 0..C-1. */
function makeData(seed: number, n: number, d: number, c: number): { X: Tensor; y: number[] } {
  const rng = makeRng(seed);
  const X = rng.randnTensor([n, d]);
  return { X, y: Array.from({ length: n }, () => rng.randint(c)) };
}

describe('FullyConnectedNeuralNet construction', () => {
  it('names, shapes and initial values of params follow the seed', () => {
    const net = new FullyConnectedNeuralNet([4, 3], { inputDim: 5, numClasses: 2, useBatchnorm: true, weightScale: 0.1, seed: 42 });
    expect(net.numLayers).toBe(3);
    expect(net.hiddenDims).toEqual([4, 3]);
    expect(net.useBatchnorm).toBe(true);
    expect(net.reg).toBe(0);
    expect(Object.keys(net.params).sort()).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3', 'beta1', 'beta2', 'gamma1', 'gamma2']);
    for (const [l, shape] of [
      [1, [5, 4]],
      [2, [4, 3]],
      [3, [3, 2]],
    ] as const) {
      const want = makeTensor(shape);
      fillInitNormals(want.data, 42, l, 0.1); // W_l from the seed's stream l (src/reference/philox.ts)
      expect(net.params[`W${l}`]).toEqual(want);
    }
    expect(net.params.b1.data).toEqual(new Float64Array(4));
    expect(net.params.b3.shape).toEqual([2]);
    expect(net.params.gamma2.data).toEqual(Float64Array.of(1, 1, 1));
    expect(net.params.beta1.data).toEqual(new Float64Array(4));
    expect(net.bnParams.map((p) => [p.mode, p.runningMean?.length, p.runningVar?.length])).toEqual([
      ['train', 4, 4],
      ['train', 3, 3],
    ]);
  });

  it('has no batchnorm parameters without useBatchnorm, and defaults inputDim 3072, numClasses 10', () => {
    const net = new FullyConnectedNeuralNet([7]);
    expect(Object.keys(net.params).sort()).toEqual(['W1', 'W2', 'b1', 'b2']);
    expect(net.params.W1.shape).toEqual([3072, 7]);
    expect(net.params.W2.shape).toEqual([7, 10]);
    expect(net.bnParams).toEqual([]);
  });

  it('normalization: layernorm has gamma/beta per hidden layer and no running statistics; useBatchnorm is an alias', () => {
    const ln = new FullyConnectedNeuralNet([4, 3], { inputDim: 5, numClasses: 2, normalization: 'layernorm' });
    expect(ln.normalization).toBe('layernorm');
    expect(ln.useBatchnorm).toBe(false);
    expect(Object.keys(ln.params).sort()).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3', 'beta1', 'beta2', 'gamma1', 'gamma2']);
    expect(ln.params.gamma1.data).toEqual(Float64Array.of(1, 1, 1, 1));
    expect(ln.bnParams).toEqual([]);
    expect(new FullyConnectedNeuralNet([4], { inputDim: 5, useBatchnorm: true }).normalization).toBe('batchnorm');
    expect(new FullyConnectedNeuralNet([4], { inputDim: 5, normalization: 'batchnorm' }).useBatchnorm).toBe(true);
    expect(new FullyConnectedNeuralNet([4], { inputDim: 5, useBatchnorm: false, normalization: null }).normalization).toBe(null);
    expect(new FullyConnectedNeuralNet([4], { inputDim: 5 }).normalization).toBe(null);
    expect(() => new FullyConnectedNeuralNet([4], { normalization: 'groupnorm' } as never)).toThrow(
      /normalization must be "batchnorm", "layernorm" or null/,
    );
    expect(() => new FullyConnectedNeuralNet([4], { normalization: 'layernorm', useBatchnorm: true })).toThrow(
      /useBatchnorm true contradicts normalization "layernorm"/,
    );
  });

  it('rejects unknown options and bad values', () => {
    expect(() => new FullyConnectedNeuralNet([5], { use_batchnorm: true } as never)).toThrow(/unknown option "use_batchnorm"/);
    expect(() => new FullyConnectedNeuralNet([5, 0])).toThrow(/positive integers/);
    expect(() => new FullyConnectedNeuralNet([5], { reg: -1 })).toThrow(/reg must be/);
    expect(() => new FullyConnectedNeuralNet([5], { backwardVariant: 'fast' } as never)).toThrow(/backwardVariant/);
    expect(() => new FullyConnectedNeuralNet([5], { activation: 'tanh' } as never)).toThrow(
      'FullyConnectedNeuralNet: activation must be "relu" or "gelu", got "tanh"',
    );
  });
});

describe('gradient checks (seed cell 7)', () => {
  const [N, D, H1, H2, C] = [2, 15, 20, 30, 10];
  const { X, y } = makeData(7, N, D, C);

  for (const reg of [0, 3.14]) {
    it(`batchnorm net [${H1}, ${H2}], N = 2, reg = ${reg}: every gradient matches`, () => {
      const model = new FullyConnectedNeuralNet([H1, H2], { inputDim: D, numClasses: C, reg, weightScale: 5e-2, useBatchnorm: true });
      expectGradientsClose(model, X, y);
      // Where no gradient element sits below the loss's resolution, the seed's plain check holds as is.
      for (const name of ['W3', 'b3', 'gamma1', 'gamma2', 'beta1', 'beta2']) {
        expect(seedRelError(model, X, y, name), name).toBeLessThan(1e-5);
      }
    });
  }

  it('pre-batchnorm biases get an exactly zero gradient (batchnorm undoes any per-feature shift)', () => {
    const model = new FullyConnectedNeuralNet([H1, H2], { inputDim: D, numClasses: C, weightScale: 5e-2, useBatchnorm: true });
    const { loss, grads } = model.loss(X, y);
    const resolution = (Number.EPSILON * loss) / H;
    for (const name of ['b1', 'b2']) {
      expect(Math.max(...grads[name].data.map(Math.abs)), name).toBeLessThan(1e-14);
      const num = evalNumericalGradient(() => model.loss(X, y).loss, model.params[name].data);
      expect(Math.max(...num.map(Math.abs)), name).toBeLessThan(16 * resolution);
    }
  });

  it('the closed-form batchnorm backward gives the same network gradients as the staged graph', () => {
    const options = { inputDim: D, numClasses: C, reg: 3.14, weightScale: 5e-2, useBatchnorm: true, seed: 3 };
    const graph = new FullyConnectedNeuralNet([H1, H2], options).loss(X, y);
    const closed = new FullyConnectedNeuralNet([H1, H2], { ...options, backwardVariant: 'alternative' }).loss(X, y);
    expect(closed.loss).toBe(graph.loss);
    for (const name of ['W1', 'W2', 'W3', 'gamma1', 'gamma2', 'beta1', 'beta2']) {
      expect(relError(closed.grads[name].data, graph.grads[name].data), name).toBeLessThan(1e-10);
    }
  });

  for (const reg of [0, 3.14]) {
    it(`net without batchnorm, reg = ${reg}: every gradient matches`, () => {
      const data = makeData(11, N, D, C);
      const model = new FullyConnectedNeuralNet([H1, H2], { inputDim: D, numClasses: C, reg, weightScale: 5e-2, seed: 4 });
      // A centered difference across a ReLU kink is meaningless; this point is at least 10h from every kink.
      expect(minDistanceToKink(model, data.X)).toBeGreaterThan(10 * H);
      expectGradientsClose(model, data.X, data.y);
    });
  }

  for (const reg of [0, 3.14]) {
    it(`layer norm net [${H1}, ${H2}], N = 2, reg = ${reg}: every gradient matches`, () => {
      const model = new FullyConnectedNeuralNet([H1, H2], {
        inputDim: D,
        numClasses: C,
        reg,
        weightScale: 5e-2,
        normalization: 'layernorm',
      });
      expectGradientsClose(model, X, y);
      for (const name of ['W1', 'W2', 'W3', 'b3', 'gamma1', 'gamma2', 'beta1', 'beta2']) {
        expect(seedRelError(model, X, y, name), name).toBeLessThan(1e-5);
      }
    });
  }

  for (const normalization of [null, 'batchnorm', 'layernorm'] as const) {
    it(`GELU net [${H1}, ${H2}], normalization ${normalization}, reg = 3.14: every gradient matches`, () => {
      const options = { inputDim: D, numClasses: C, reg: 3.14, weightScale: 5e-2, normalization, seed: 5 };
      const model = new FullyConnectedNeuralNet([H1, H2], { ...options, activation: 'gelu' });
      expect(model.activation).toBe('gelu');
      expectGradientsClose(model, X, y); // GELU is smooth: no kink to stay away from
      // and it is another function than ReLU: the same net with ReLU has another loss
      expect(model.loss(X, y).loss).not.toBeCloseTo(new FullyConnectedNeuralNet([H1, H2], options).loss(X, y).loss, 6);
    });
  }

  it('layer norm: the bias before it gets gradients that sum to 0 over the features (a shift of every feature is undone)', () => {
    const model = new FullyConnectedNeuralNet([H1, H2], {
      inputDim: D,
      numClasses: C,
      weightScale: 5e-2,
      normalization: 'layernorm',
      seed: 8,
    });
    const { grads } = model.loss(X, y);
    for (const name of ['b1', 'b2']) {
      const g = grads[name].data;
      const scale = Math.max(...g.map(Math.abs));
      expect(scale, name).toBeGreaterThan(1e-6); // unlike batchnorm, a per-feature bias does matter
      expect(Math.abs(g.reduce((a, b) => a + b, 0)) / scale, name).toBeLessThan(1e-12);
    }
  });

  it('layer norm gives a row the same scores whatever else is in the batch (no batch statistics, no test mode)', () => {
    const data = makeData(16, 6, D, C);
    const model = new FullyConnectedNeuralNet([H1, H2], {
      inputDim: D,
      numClasses: C,
      weightScale: 5e-2,
      normalization: 'layernorm',
      seed: 9,
    });
    const all = model.scores(data.X);
    model.loss(data.X, data.y); // a train-mode pass changes nothing that scores read
    const one = model.scores(makeTensor([1, D], data.X.data.subarray(2 * D, 3 * D)));
    expect(relError(one.data, all.data.subarray(2 * C, 3 * C))).toBeLessThan(1e-14);
    expect(model.scores(data.X)).toEqual(all);
  });

  for (const backwardVariant of ['graph', 'alternative'] as const) {
    it(`3-hidden-layer batchnorm net, ${backwardVariant} backward: every gradient matches`, () => {
      const data = makeData(12, 4, 9, 6);
      const model = new FullyConnectedNeuralNet([8, 7, 5], {
        inputDim: 9,
        numClasses: 6,
        reg: 0.5,
        weightScale: 5e-2,
        useBatchnorm: true,
        seed: 5,
        backwardVariant,
      });
      expectGradientsClose(model, data.X, data.y);
    });
  }
});

describe('loss', () => {
  it('adds 0.5 * reg * sum(W^2) over the weights only, and reg * W to their gradients', () => {
    const { X, y } = makeData(13, 6, 8, 4);
    const plain = new FullyConnectedNeuralNet([5], { inputDim: 8, numClasses: 4, weightScale: 0.3, useBatchnorm: true, seed: 9 });
    const withReg = new FullyConnectedNeuralNet([5], {
      inputDim: 8,
      numClasses: 4,
      weightScale: 0.3,
      useBatchnorm: true,
      seed: 9,
      reg: 0.7,
    });
    withReg.params.b1.data.fill(0.25); // biases, gamma and beta are not regularized
    plain.params.b1.data.fill(0.25);
    let sumSq = 0;
    for (const w of [...plain.params.W1.data, ...plain.params.W2.data]) sumSq += w * w;
    const a = plain.loss(X, y);
    const b = withReg.loss(X, y);
    expect(relError(b.loss - a.loss, 0.5 * 0.7 * sumSq)).toBeLessThan(1e-12);
    expect(
      relError(
        b.grads.W2.data,
        a.grads.W2.data.map((g, i) => g + 0.7 * plain.params.W2.data[i]),
      ),
    ).toBeLessThan(1e-12);
    expect(b.grads.b1.data).toEqual(a.grads.b1.data);
    expect(b.grads.gamma1.data).toEqual(a.grads.gamma1.data);
  });

  it('is about log(10) at initialization with small weights and 10 classes', () => {
    const { X, y } = makeData(14, 50, 40, 10);
    const net = new FullyConnectedNeuralNet([30, 20], { inputDim: 40, weightScale: 1e-3 });
    expect(Math.abs(net.loss(X, y).loss - Math.log(10))).toBeLessThan(1e-3);
  });
});

describe('scores (test mode)', () => {
  const { X, y } = makeData(15, 5, 6, 3);
  const net = new FullyConnectedNeuralNet([4], { inputDim: 6, numClasses: 3, useBatchnorm: true, weightScale: 0.5, seed: 2 });
  net.params.gamma1.data.set([1.5, 0.5, 2, 1]);
  net.params.beta1.data.set([0.1, -0.2, 0.3, 0]);

  it('a train-mode loss writes 0.1 * batch statistics into the zero-initialized running statistics', () => {
    net.loss(X, y);
    const a = affineForward(X, net.params.W1, net.params.b1).out;
    for (let j = 0; j < 4; j++) {
      const col = [0, 1, 2, 3, 4].map((i) => a.data[i * 4 + j]);
      const mean = col.reduce((s, v) => s + v, 0) / 5;
      const variance = col.reduce((s, v) => s + (v - mean) ** 2, 0) / 5;
      expect(relError(net.bnParams[0].runningMean![j], 0.1 * mean)).toBeLessThan(1e-12);
      expect(relError(net.bnParams[0].runningVar![j], 0.1 * variance)).toBeLessThan(1e-12);
    }
  });

  it('normalizes with the running statistics, leaves bnParams untouched, and equals loss(X) without labels', () => {
    const before = structuredClone(net.bnParams);
    const s = net.scores(X);
    expect(net.bnParams).toEqual(before);
    expect(net.loss(X)).toEqual(s);
    // The forward pass written out, with batchnorm in test mode.
    const a = affineForward(X, net.params.W1, net.params.b1).out;
    const { runningMean, runningVar } = before[0];
    const bn = makeTensor(
      [5, 4],
      a.data.map((v, k) => {
        const j = k % 4;
        return (net.params.gamma1.data[j] * (v - runningMean![j])) / Math.sqrt(runningVar![j] + 1e-5) + net.params.beta1.data[j];
      }),
    );
    const expected = affineForward(reluForward(bn).out, net.params.W2, net.params.b2).out;
    expect(s.shape).toEqual([5, 3]);
    expect(relError(s.data, expected.data)).toBeLessThan(1e-12);
  });

  it('name the function and the shape on a wrong input shape', () => {
    expect(() => net.scores(makeTensor([5, 7]))).toThrow(
      'FullyConnectedNeuralNet.scores: X has shape [5,7] (7 features per row), expected inputDim 6',
    );
    expect(() => net.loss(makeTensor([6]), [0])).toThrow(/FullyConnectedNeuralNet.loss: X has shape \[6\]/);
    expect(() => net.loss(X, [0, 1, 2])).toThrow('softmaxLoss: y has shape [3], expected [5]');
    expect(() => net.loss(X, [0, 1, 2, 3, 0])).toThrow('softmaxLoss: y[3] = 3 is not a class index in 0..2');
  });

  it('draws each W_l from its own stream: it depends on the seed and l only, not on the other layers', () => {
    const a = new FullyConnectedNeuralNet([4, 3], { inputDim: 5, numClasses: 2, seed: 8, weightScale: 0.5 });
    const b = new FullyConnectedNeuralNet([4, 9, 6], { inputDim: 7, numClasses: 3, seed: 8, weightScale: 0.5, useBatchnorm: true });
    expect(Array.from(b.params.W1!.data.subarray(0, 20))).toEqual(Array.from(a.params.W1!.data)); // 5 of 7 rows, same width
    // element e of W_l (row-major) is element e of stream l: W2 [4, 9] starts with the 12 values of W2 [4, 3]
    expect(Array.from(b.params.W2!.data.subarray(0, 12))).toEqual(Array.from(a.params.W2!.data));
    const c = new FullyConnectedNeuralNet([4, 3], { inputDim: 5, numClasses: 2, seed: 9, weightScale: 0.5 });
    expect(c.params.W1!.data.filter((w, i) => w === a.params.W1!.data[i]).length).toBe(0);
    expect(() => new FullyConnectedNeuralNet([4], { seed: 1.5 })).toThrow('FullyConnectedNeuralNet: seed must be a safe integer, got 1.5');
  });

  it('accepts X as N x (d1..dk) and flattens it', () => {
    const s2 = net.scores({ data: X.data, shape: [5, 2, 3] });
    expect(s2).toEqual(net.scores(X));
  });
});

describe('FullyConnectedNeuralNet.create (weights drawn in chunks between pauses)', () => {
  it("draws the weights of the constructor, bit for bit, from the seed's streams (one per layer, row-major), pausing between chunks", async () => {
    let pauses = 0;
    const opts = { inputDim: 300, numClasses: 10, normalization: 'batchnorm' as const, weightScale: 3e-2, seed: 7 };
    const later = await FullyConnectedNeuralNet.create([200, 100], opts, async () => {
      pauses++;
    });
    const now = new FullyConnectedNeuralNet([200, 100], opts);
    for (const [l, shape] of [
      [1, [300, 200]],
      [2, [200, 100]],
      [3, [100, 10]],
    ] as const) {
      const want = makeTensor(shape);
      fillInitNormals(want.data, 7, l, 3e-2);
      expect(Array.from(later.params[`W${l}`]!.data), `W${l}`).toEqual(Array.from(want.data));
      expect(Array.from(now.params[`W${l}`]!.data), `W${l}`).toEqual(Array.from(want.data));
    }
    expect(Object.keys(later.params)).toEqual(Object.keys(now.params)); // the same names in the same order (safetensors files)
    expect(pauses).toBe(Math.floor((300 * 200 + 200 * 100 + 100 * 10) / 32768)); // one per 32768 values
  });
});
