// The forward-check panel (seed cells 3-4): GPU batchnorm beside the float64 reference, train and test mode.
import { test, expect, numbersIn } from '../demo-fixtures.ts';

test('forward check: train-mode means/stds hit beta/gamma and the GPU matches the reference', async ({ demo }) => {
  test.setTimeout(120_000);
  await demo.open('f.warmup=10');
  const { page } = demo;
  await page.getByTestId('forward-start').click();
  await expect(page.getByTestId('forward-status')).toHaveText(/^done/, { timeout: 90_000 });
  await expect(page.getByTestId('forward-verdict')).toHaveAttribute('data-ok', 'true');
  const gpuMeans = numbersIn(await page.getByTestId('forward-train-affine-gpu-means').textContent());
  const gpuStds = numbersIn(await page.getByTestId('forward-train-affine-gpu-stds').textContent());
  expect(gpuMeans.map((m) => Math.round(m))).toEqual([11, 12, 13]);
  gpuStds.forEach((s, j) => expect(s).toBeCloseTo(j + 1, 3));
  for (const c of ['train', 'train-affine', 'test']) {
    const err = numbersIn(await page.getByTestId(`forward-${c}-error`).textContent());
    expect(err.length).toBe(2);
    for (const e of err) {
      expect(Number.isFinite(e)).toBe(true);
      expect(e).toBeLessThan(1e-4);
    }
  }
  const testStds = numbersIn(await page.getByTestId('forward-test-gpu-stds').textContent());
  for (const s of testStds) expect(s).toBeGreaterThan(0.5);
});
