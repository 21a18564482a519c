// The seed's plain layers in float64: affine, ReLU, GELU and the softmax cross-entropy loss, each with its backward.
import { assertLength, assertShape, makeTensor, rowsCols } from './tensor.ts';
import type { Tensor } from './tensor.ts';

/** What `affineForward` keeps for `affineBackward`: its inputs, unchanged. */
export interface AffineCache {
  x: Tensor;
  w: Tensor;
  b: Tensor;
}

/**
 * `out = reshape(x, [N, D]) · w + b` for x of shape [N, d1, ..., dk] (D = d1*...*dk), w [D, M], b [M].
 * @example
 *   const { out, cache } = affineForward(x, w, b); // x [N, 3, 32, 32], w [3072, 100], b [100]
 *   out.shape; // [N, 100]
 */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const [n, d] = rowsCols('affineForward', 'x', x.shape);
  assertShape('affineForward', 'w', w.shape, [d, null]);
  const m = w.shape[1];
  assertShape('affineForward', 'b', b.shape, [m]);
  const out = makeTensor([n, m]);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    for (let j = 0; j < m; j++) out.data[row + j] = b.data[j];
    for (let k = 0; k < d; k++) {
      const xik = x.data[i * d + k];
      for (let j = 0; j < m; j++) out.data[row + j] += xik * w.data[k * m + j];
    }
  }
  return { out, cache: { x, w, b } };
}

/**
 * Backward of `affineForward`: `dx = dout · wᵀ` (in x's original shape), `dw = xᵀ · dout`, `db = Σ_rows dout`.
 * @example
 *   const { out, cache } = affineForward(x, w, b);
 *   const { dx, dw, db } = affineBackward(dout, cache); // dout has out's shape
 */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const { x, w } = cache;
  const [n, d] = rowsCols('affineBackward', 'cache.x', x.shape);
  const m = w.shape[1];
  assertShape('affineBackward', 'dout', dout.shape, [n, m]);
  const dx = makeTensor(x.shape);
  const dw = makeTensor([d, m]);
  const db = makeTensor([m]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const g = dout.data[i * m + j];
      db.data[j] += g;
      for (let k = 0; k < d; k++) {
        dx.data[i * d + k] += g * w.data[k * m + j];
        dw.data[k * m + j] += x.data[i * d + k] * g;
      }
    }
  }
  return { dx, dw, db };
}

/**
 * `out = max(0, x)` elementwise, any shape; the cache is x.
 * @example
 *   const { out } = reluForward(makeTensor([3], [-1, 0, 2]));
 *   out.data; // Float64Array [0, 0, 2]
 */
export function reluForward(x: Tensor): { out: Tensor; cache: Tensor } {
  const out = makeTensor(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = x.data[i] > 0 ? x.data[i] : 0;
  return { out, cache: x };
}

/**
 * Backward of `reluForward`: `dx = dout * (x > 0)` (the gradient at exactly 0 is taken as 0, as in cs231n).
 * @example
 *   const { cache } = reluForward(makeTensor([3], [-1, 0, 2]));
 *   reluBackward(makeTensor([3], [5, 5, 5]), cache).data; // [0, 0, 5]
 */
export function reluBackward(dout: Tensor, cache: Tensor): Tensor {
  assertShape('reluBackward', 'dout', dout.shape, cache.shape);
  const dx = makeTensor(cache.shape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = cache.data[i] > 0 ? dout.data[i] : 0;
  return dx;
}

/** √(2/π) and the cubic's coefficient of the tanh-form GELU (PyTorch's `gelu(x, approximate='tanh')`). */
const geluK = Math.sqrt(2 / Math.PI);
const geluC = 0.044715;

/**
 * GELU in its tanh form, elementwise, any shape: `out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`; the cache is x.
 * @example
 *   const { out } = geluForward(makeTensor([3], [-1, 0, 2]));
 *   out.data; // [-0.158808, 0, 1.954597]
 */
export function geluForward(x: Tensor): { out: Tensor; cache: Tensor } {
  const out = makeTensor(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i];
    out.data[i] = 0.5 * v * (1 + Math.tanh(geluK * (v + geluC * v * v * v)));
  }
  return { out, cache: x };
}

/**
 * Backward of `geluForward`: `dx = dout·(0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²))`, t the forward's tanh.
 * @example
 *   const { cache } = geluForward(makeTensor([1], [0]));
 *   geluBackward(makeTensor([1], [2]), cache).data; // [1] (GELU'(0) = 0.5)
 */
export function geluBackward(dout: Tensor, cache: Tensor): Tensor {
  assertShape('geluBackward', 'dout', dout.shape, cache.shape);
  const dx = makeTensor(cache.shape);
  for (let i = 0; i < dx.data.length; i++) {
    const v = cache.data[i];
    const t = Math.tanh(geluK * (v + geluC * v * v * v));
    dx.data[i] = dout.data[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * geluK * (1 + 3 * geluC * v * v));
  }
  return dx;
}

/**
 * Softmax cross-entropy, averaged over the N rows of `scores` [N, C], with labels `y` (integers in
 * 0..C-1); `dx = (softmax(scores) - onehot(y)) / N`. Rows are shifted by their max, so large scores
 * do not overflow, and the log-probability is taken as `shifted - log Σ exp(shifted)`.
 * @example
 *   const { loss, dx } = softmaxLoss(makeTensor([1, 2], [0, 0]), [1]);
 *   loss; // Math.log(2); dx.data = [0.5, -0.5]
 */
export function softmaxLoss(scores: Tensor, y: ArrayLike<number>): { loss: number; dx: Tensor } {
  assertShape('softmaxLoss', 'scores', scores.shape, [null, null]);
  const [n, c] = scores.shape;
  assertLength('softmaxLoss', 'y', y, n);
  const dx = makeTensor([n, c]);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i];
    if (!Number.isInteger(label) || label < 0 || label >= c) {
      throw new Error(`softmaxLoss: y[${i}] = ${label} is not a class index in 0..${c - 1}`);
    }
    const row = i * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, scores.data[row + j]);
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const e = Math.exp(scores.data[row + j] - max);
      dx.data[row + j] = e;
      sum += e;
    }
    loss -= scores.data[row + label] - max - Math.log(sum);
    for (let j = 0; j < c; j++) dx.data[row + j] /= sum * n;
    dx.data[row + label] -= 1 / n;
  }
  return { loss: loss / n, dx };
}
