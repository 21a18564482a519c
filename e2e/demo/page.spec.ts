// The demo page as a whole: loads clean, shows the adapter and the data, reads its settings from the URL, and says
// what to do when WebGPU is missing.
import { test, expect } from '../demo-fixtures.ts';

test('the page loads with no console errors, shows the adapter and loads CIFAR-10', async ({ demo }) => {
  await demo.open();
  const { page } = demo;
  await expect(page.getByTestId('adapter')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('adapter')).toContainText('timestamp-query');
  await expect(page.getByTestId('dataset-status')).toContainText(/CIFAR-10 ready: \d+ training, \d+ validation/);
  await expect(page.getByTestId('webgpu-missing')).toBeHidden();
  await expect(page.getByTestId('url-errors')).toHaveText('');
  for (const panel of ['forward', 'exp1', 'sweep', 'bsize', 'speedup'])
    await expect(page.getByTestId(`${panel}-status`)).toHaveText('idle');
});

test('settings come from the URL, edits go back into it, and bad values are reported', async ({ demo }) => {
  await demo.open('b.epochs=3&b.hidden=64x2,32&s.numScales=4&nonsense=1', { waitForData: false });
  const { page } = demo;
  await expect(page.getByTestId('b-epochs')).toHaveValue('3');
  await expect(page.getByTestId('b-hidden')).toHaveValue('64x2,32');
  await expect(page.getByTestId('s-numScales')).toHaveValue('4');
  await expect(page.getByTestId('url-errors')).toContainText('"nonsense" is not known');
  await page.getByTestId('b-batchSize').fill('25');
  await page.getByTestId('b-batchSize').press('Tab');
  await expect(page).toHaveURL(/b\.batchSize=25/);
  await page.getByTestId('b-lr').fill('fast');
  await page.getByTestId('b-lr').press('Tab');
  await expect(page.getByTestId('batchnorm-form-error')).toContainText('learning rate: must be a number');
});

test('without WebGPU the page says what to do and the GPU-only panels refuse to start', async ({ demo }) => {
  await demo.page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
  });
  await demo.open('', { waitForData: false });
  const { page } = demo;
  await expect(page.getByTestId('adapter')).toHaveAttribute('data-state', 'missing');
  await expect(page.getByTestId('webgpu-missing')).toBeVisible();
  await expect(page.getByTestId('webgpu-missing')).toContainText('WebGPU is not available');
  await expect(page.getByTestId('webgpu-missing')).toContainText('--enable-unsafe-webgpu');
  await expect(page.getByTestId('model-cpu')).toBeChecked();
  await page.getByTestId('forward-start').click();
  await expect(page.getByTestId('forward-status')).toContainText('error: the GPU side needs WebGPU');
});
