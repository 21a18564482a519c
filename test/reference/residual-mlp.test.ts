// The float64 residual MLP: every gradient (the skip's sum included) against centred differences, and option errors.
import { describe, expect, it } from 'vitest';
import { ResidualMLP } from '../../src/reference/residual-mlp.ts';
import { evalNumericalGradient, relError } from '../../src/reference/gradient-check.ts';
import { makeRng } from '../../src/reference/rng.ts';

describe('reference ResidualMLP', () => {
  it('gives every parameter the numerical gradient of its loss, with and without L2', () => {
    for (const reg of [0, 0.7]) {
      const net = new ResidualMLP(6, { inputDim: 5, numClasses: 4, weightScale: 0.5, seed: 3, reg });
      const rng = makeRng(9);
      const X = rng.randnTensor([7, 5]);
      const y = [0, 1, 2, 3, 0, 1, 2];
      const { grads } = net.loss(X, y);
      for (const [name, p] of Object.entries(net.params)) {
        const num = evalNumericalGradient(() => net.loss(X, y).loss, p.data);
        expect(relError(grads[name]!.data, num), `reg ${reg} ${name}`).toBeLessThan(1e-6);
      }
    }
  });

  it('scores are the forward pass, and bad options and inputs are named', () => {
    const net = new ResidualMLP(3, { inputDim: 2, numClasses: 2, seed: 1 });
    const X = { data: Float64Array.of(1, -2, 0.5, 3), shape: [2, 2] };
    const s = net.scores(X);
    expect(s.shape).toEqual([2, 2]);
    // by hand: h = relu(xW1 + b1), s = h + relu(hW2 + b2), scores = sW3 + b3 (biases 0)
    const p = net.params;
    const mm = (a: number[], W: Float64Array, cols: number) =>
      Array.from({ length: cols }, (_, j) => a.reduce((acc, v, i) => acc + v * W[i * cols + j]!, 0));
    const relu = (a: number[]) => a.map((v) => Math.max(0, v));
    const h = relu(mm([1, -2], p.W1!.data, 3));
    const sum = h.map((v, i) => v + relu(mm(h, p.W2!.data, 3))[i]!);
    expect(Array.from(s.data.subarray(0, 2))).toEqual(mm(sum, p.W3!.data, 2).map((v) => expect.closeTo(v, 12)));
    expect(() => new ResidualMLP(3, { hidden: 2 } as never)).toThrow('ResidualMLP: unknown option "hidden"');
    expect(() => net.scores({ data: new Float64Array(6), shape: [2, 3] })).toThrow('expected inputDim 2');
  });
});
