// TF.js 4.22's WebGPU backend as a matmul peer in the same page: its own device on the same adapter, timed by tf.time.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import type { MatmulPeer } from '../sections/types.ts';

function summary(xs: number[]): { medianMs: number; minMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { medianMs: s[Math.floor(s.length / 2)]!, minMs: s[0]! };
}

/**
 * Start TF.js on WebGPU and return a peer that times tf.matMul (GPU time from tf.time's kernelMs when
 * the adapter has timestamp queries, else wall clock around `await data()`).
 *   const peer = await createTfjsPeer();
 *   const { medianMs } = await peer.time({ m: 256, n: 256, k: 256, transA: false, transB: false }, 10);
 */
export async function createTfjsPeer(): Promise<MatmulPeer> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not initialise');
  await tf.ready();
  const timestamps = (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
  return {
    name: `TF.js ${tf.version_core} webgpu`,
    timer: timestamps ? 'tf.time kernelMs (timestamp-query, summed over its passes)' : 'wall clock around tf.matMul + await data()',
    async time(s, reps) {
      const a = tf.randomUniform(s.transA ? [s.k, s.m] : [s.m, s.k], -1, 1);
      const b = tf.randomUniform(s.transB ? [s.n, s.k] : [s.k, s.n], -1, 1);
      try {
        for (let i = 0; i < 2; i++) {
          const c = tf.matMul(a, b, s.transA, s.transB);
          await c.data();
          c.dispose();
        }
        const samples: number[] = [];
        for (let i = 0; i < reps; i++) {
          if (timestamps) {
            let c: tf.Tensor | undefined;
            const info = await tf.time(() => {
              c = tf.matMul(a, b, s.transA, s.transB);
            });
            await c!.data();
            c!.dispose();
            if (typeof info.kernelMs !== 'number') throw new Error(`TF.js tf.time gave no kernel time: ${JSON.stringify(info.kernelMs)}`);
            samples.push(info.kernelMs);
          } else {
            const t0 = performance.now();
            const c = tf.matMul(a, b, s.transA, s.transB);
            await c.data();
            samples.push(performance.now() - t0);
            c.dispose();
          }
        }
        return summary(samples);
      } finally {
        a.dispose();
        b.dispose();
      }
    },
  };
}
