// The math panel: MathML formulas (no images) beside the WGSL of the kernels that compute them.
import { test, expect } from '../demo-fixtures.ts';

test('the math is MathML next to the batchnorm and layer norm kernels', async ({ demo }) => {
  await demo.open('', { waitForData: false });
  const math = demo.page.locator('#math');
  expect(await math.locator('math').count()).toBeGreaterThan(10);
  expect(await math.locator('img').count()).toBe(0);
  await expect(math.getByTestId('kernel-normalize')).toContainText('fn normalize(');
  await expect(math.getByTestId('kernel-dxAlternative')).toContainText('fn dxAlternative(');
  await expect(math.getByTestId('kernel-dmuNode')).toContainText('fn dmuNode(');
  await expect(math.getByTestId('math-observed')).not.toBeEmpty();
  // questions 4 and 5: batch size, layer norm (the row-reduction kernels and the subgroup prelude beside them)
  await expect(math.locator('h3')).toHaveCount(5);
  await expect(math.getByTestId('kernel-trainColumns')).toContainText('fn trainColumns(');
  await expect(math.getByTestId('kernel-forward')).toContainText('fn forward(');
  await expect(math.getByTestId('kernel-backward')).toContainText('fn backward(');
  await expect(math.getByTestId('kernel-rowSum')).toContainText('subgroupAdd');
  await expect(math.getByTestId('kernel-sumsColumns')).toContainText('fn sumsColumns(');
  await expect(math.getByTestId('math-batchsize-observed')).not.toBeEmpty();
});
