// The page's size fields are bounded as the CLI's flags are (the same checks: demo/url-state.ts's fields and
// demo/size-limits.ts): a value too big is refused with a message naming the field, before anything is built.
import { test, expect } from '../demo-fixtures.ts';

test('too-big sizes are refused with a clear message naming the field, and nothing runs', async ({ demo }) => {
  await demo.open('', { waitForData: false });
  const { page } = demo;
  await expect(page.getByTestId('adapter')).toHaveAttribute('data-state', 'ready');

  // a field bound, as soon as it is typed: batch sizes as --batch-size (at most 4096)
  await page.getByTestId('z-batchSizes').fill('5,100000');
  await page.getByTestId('z-batchSizes').press('Tab');
  await expect(page.getByTestId('batchsize-form-error')).toHaveText(
    'batch sizes (normalized): each size must be at most 4096 (got "5,100000")',
  );

  // the memory budget, at Start: every tensor of 30 layers of 4096 fits the smallest limits WebGPU allows, the run does not
  // (the figures as test/demo/size-limits.test.ts counts them by hand, and as the CLI prints them for --hidden 4096x30)
  const budget =
    "hidden layers 4096x30: the run plans 16.1 GB (the 2 models' parameters, gradients and adam state 16.0 GB, " +
    "a step's activations (batch 50) 151 MB, 2000 images (uint8) 6.14 MB) > the memory budget 4.29 GB";
  await page.getByTestId('b-hidden').fill('4096x30');
  await page.getByTestId('b-hidden').press('Tab');
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('exp1-status')).toHaveText(`error: ${budget}`);
  await expect(page.getByTestId('batchnorm-form-error')).toHaveText(budget);
  await expect(page.getByTestId('exp1-rate')).toHaveText('');

  // the device's limits, at Start: W1 over this adapter's buffer limits, or (where it fits) the run over the budget
  await page.getByTestId('b-hidden').fill('100000');
  await page.getByTestId('b-hidden').press('Tab');
  await page.getByTestId('exp1-start').click();
  await expect(page.getByTestId('exp1-status')).toHaveText(
    /^error: hidden layers 100000: (W1 is 3072x100000 f32 = 1\.23 GB > max(BufferSize|StorageBufferBindingSize) .*|the run plans 10\.0 GB .* > the memory budget 4\.29 GB)$/,
  );
  console.log(await page.getByTestId('exp1-status').textContent());

  // speedup's element bound (its float64 check keeps several N×D copies)
  await page.getByTestId('p-sizes').fill('100x500,40000x1000');
  await page.getByTestId('p-sizes').press('Tab');
  await page.getByTestId('speedup-start').click();
  await expect(page.getByTestId('speedup-status')).toHaveText(
    'error: sizes N×D 100x500,40000x1000: 40000x1000 = 40000000 elements > 4194304, the most one case may have (its float64 check keeps several copies)',
  );

  // and a size that fits still starts
  await page.getByTestId('p-sizes').fill('64x48');
  await page.getByTestId('p-reps').fill('2');
  await page.getByTestId('p-reps').press('Tab');
  await page.getByTestId('speedup-start').click();
  await expect(page.getByTestId('speedup-status')).toHaveText(/^done/, { timeout: 60_000 });
  await expect(page.getByTestId('speedup-form-error')).toHaveText('');
});
