// TF.js 4.22 (WebGPU backend) training the same fully-connected net with Adam on the same rows, as the training benchmark's peer.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
// tfjs-core alone has no gradients registered (the tfjs umbrella package does this import).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { TrainingPeer } from '../sections/training.ts';

/**
 * A peer that trains {affine - [batchnorm] - relu} x L - affine - softmax with tf.train.adam on WebGPU.
 *   const peer = await createTfjsTrainingPeer();
 *   const ms = await peer.msPerStep({ hiddenDims: [100, 100], useBatchnorm: true, batch: 50, inputDim: 3072, numClasses: 10 }, 20, rows);
 */
export async function createTfjsTrainingPeer(): Promise<TrainingPeer> {
  if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not initialise');
  await tf.ready();
  return {
    name: `TF.js ${tf.version_core} webgpu (tf.train.adam)`,
    async msPerStep(spec, steps, rows) {
      const dims = [spec.inputDim, ...spec.hiddenDims, spec.numClasses];
      const vars: tf.Variable[] = [];
      const layers = dims.slice(1).map((m, l) => {
        const W = tf.variable(tf.randomNormal([dims[l]!, m], 0, 2e-2));
        const b = tf.variable(tf.zeros([m]));
        const bn = spec.useBatchnorm && l < dims.length - 2 ? { gamma: tf.variable(tf.ones([m])), beta: tf.variable(tf.zeros([m])) } : null;
        vars.push(W, b, ...(bn ? [bn.gamma, bn.beta] : []));
        return { W, b, bn };
      });
      // the bench's rows (uint8 pixels minus the mean image) and labels, once on the GPU; each step gathers its minibatch
      const { data, indices } = rows;
      const n = data.XTrain.shape[0]!;
      const pixels = Float32Array.from(data.XTrain.data, (v, i) => v - data.meanImage[i % spec.inputDim]!);
      const X = tf.tensor2d(pixels, [n, spec.inputDim]);
      const Y = tf.oneHot(tf.tensor1d(Int32Array.from(data.yTrain), 'int32'), spec.numClasses);
      const opt = tf.train.adam(1e-3);
      const step = (k: number) =>
        opt.minimize(
          () => {
            const idx = tf.tensor1d(Int32Array.from(indices[k]!), 'int32');
            const labels = tf.gather(Y, idx);
            let h: tf.Tensor2D = tf.gather(X, idx) as tf.Tensor2D;
            layers.forEach(({ W, b, bn }, l) => {
              h = tf.add(tf.matMul(h, W), b);
              if (l === layers.length - 1) return;
              if (bn) {
                const { mean, variance } = tf.moments(h, 0);
                h = tf.batchNorm(h, mean, variance, bn.beta, bn.gamma, 1e-5) as tf.Tensor2D;
              }
              h = tf.relu(h);
            });
            return tf.losses.softmaxCrossEntropy(labels, h) as tf.Scalar;
          },
          true,
          vars,
        )!;
      try {
        for (let i = 0; i < 3; i++) {
          const l = step(i);
          await l.data();
          l.dispose();
        }
        const t0 = performance.now();
        const losses: tf.Scalar[] = [];
        for (let i = 0; i < steps; i++) losses.push(step(3 + i));
        const values = await Promise.all(losses.map((l) => l.data()));
        const ms = (performance.now() - t0) / steps;
        losses.forEach((l) => l.dispose());
        const bad = values.findIndex((v) => !Number.isFinite(v[0]!));
        if (bad >= 0) throw new Error(`TF.js training peer: non-finite loss ${values[bad]![0]} at timed step ${bad}`);
        return ms;
      } finally {
        opt.dispose();
        vars.forEach((v) => v.dispose());
        X.dispose();
        Y.dispose();
      }
    },
  };
}
