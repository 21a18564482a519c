import { requestGpu } from '../src/node.ts';
import { createScope, createMatmul, runDispatches, readF32 } from '../src/engine.ts';
const gpu = await requestGpu();
console.log('wg storage', gpu.device.limits.maxComputeWorkgroupStorageSize);
let seed = 1;
const rnd = (len: number) => Float32Array.from({ length: len }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 31 - 1));
const cases: any[] = [];
for (const variant of ['tile64', 'tile128', 'tile128k16'])
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]])
    for (const [m, n, k, splits] of [[131, 67, 37, 1], [7, 13, 5, 1], [70, 140, 53, 3]]) cases.push({ variant, m, n, k, transA: tA, transB: tB, splits });
for (const c of cases) {
  const { m, n, k, transA, transB } = c;
  const a = rnd(m * k), b = rnd(k * n), bias = rnd(n);
  const scope = createScope(gpu);
  try {
    const cb = scope.createTensorBuffer(new Float32Array(m * n).fill(NaN), 'c');
    const t0 = performance.now();
    const ds = await createMatmul(scope, { a: scope.createTensorBuffer(a, 'a'), b: scope.createTensorBuffer(b, 'b'), c: cb, bias: scope.createTensorBuffer(bias, 'bias'), m, n, k, transA, transB, variant: c.variant, splits: c.splits });
    await runDispatches(gpu, ds);
    const got = await readF32(gpu, cb, m * n);
    let err = 0, ref = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = bias[j]!;
      for (let p = 0; p < k; p++) s += (transA ? a[p * m + i]! : a[i * k + p]!) * (transB ? b[j * k + p]! : b[p * n + j]!);
      ref = Math.max(ref, Math.abs(s));
      const e = Math.abs(got[i * n + j]! - s);
      if (!(e <= err)) err = e;
    }
    console.log(JSON.stringify(c), ds.map((d) => d.label).join(' + '), 'rel', err / ref, (performance.now() - t0).toFixed(0), 'ms');
  } catch (e) { console.log(JSON.stringify(c), 'ERR', (e as Error).message.slice(0, 500)); } finally { scope.destroy(); }
}
console.log('errors', gpu.errors.length, gpu.errors[0]?.message?.slice(0, 800));
