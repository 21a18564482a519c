// The math panel: MathML formulas (no images) beside the WGSL of the kernels that compute them.
import { test, expect } from './demo-fixtures.ts';

test('the math is MathML next to the batchnorm kernels', async ({ demo }) => {
  await demo.open('', { waitForData: false });
  const math = demo.page.locator('#math');
  expect(await math.locator('math').count()).toBeGreaterThan(10);
  expect(await math.locator('img').count()).toBe(0);
  await expect(math.getByTestId('kernel-normalize')).toContainText('fn normalize(');
  await expect(math.getByTestId('kernel-dxAlternative')).toContainText('fn dxAlternative(');
  await expect(math.getByTestId('kernel-dmuNode')).toContainText('fn dmuNode(');
  await expect(math.getByTestId('math-observed')).not.toBeEmpty();
});
