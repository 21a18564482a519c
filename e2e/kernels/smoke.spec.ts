// WebGPU smoke test: a reflected kernel from shaders/ really runs on the adapter and matches the CPU.
import { test, expect } from '../fixtures.ts';

test('relu kernel from shaders/ runs on the WebGPU adapter and matches the CPU', async ({ harness }) => {
  console.log(`adapter: ${harness.adapter.vendor} / ${harness.adapter.architecture} ${harness.adapter.description}`);
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const n = 5003;
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const x = new Float32Array(n).map(() => next());
    const scope = lib.createScope(gpu);
    const xb = scope.createTensorBuffer(x, 'x');
    const yb = window.setup.poisoned(scope, n, 'y');
    const d = await lib.createReluForward(scope, { x: xb, y: yb, n });
    await lib.runDispatches(gpu, [d], 'smoke');
    const y = await lib.readF32(gpu, yb, n);
    scope.destroy();
    let mismatches = 0;
    let positives = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] !== Math.max(0, x[i]!)) mismatches++;
      if (x[i]! > 0) positives++;
    }
    return { mismatches, positives, n, bindings: Object.keys(d.kernel.bindings).sort(), live: gpu.stats.buffersLive };
  });
  expect(r.bindings).toEqual(['a', 'out', 'params']); // the elementwise family's kernel, relu a unary row (no b)
  expect(r.positives).toBeGreaterThan(r.n / 3);
  expect(r.mismatches).toBe(0);
  expect(r.live).toBe(0);
  expect(harness.adapter.architecture.length + harness.adapter.vendor.length).toBeGreaterThan(0);
});

test('without WebGPU the library fails with an actionable message', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
  });
  await page.goto('/e2e/harness.html');
  await expect(page.getByTestId('adapter')).toContainText('WebGPU is not available');
  await expect(page.getByTestId('adapter')).toContainText('--enable-unsafe-webgpu');
});
