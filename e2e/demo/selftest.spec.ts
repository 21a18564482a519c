// "Check this GPU" on the demo page: the self-test runs on the page's device and its table lists every case, all passing.
import { selfTestKernels } from '../selftest-kernels.ts';
import { test, expect } from '../demo-fixtures.ts';

test('Check this GPU: the table has every kernel family, each row under its tolerance and marked pass', async ({ demo }) => {
  test.setTimeout(300_000);
  await demo.open('', { waitForData: false });
  const { page } = demo;
  await page.getByTestId('selftest-run').click();
  await expect(page.getByTestId('selftest-status')).toHaveAttribute('data-state', /pass|fail|error/, { timeout: 240_000 });
  const status = await page.getByTestId('selftest-status').textContent();
  expect(await page.getByTestId('selftest-status').getAttribute('data-state'), status ?? '').toBe('pass');
  const rows = await page
    .getByTestId('selftest-row')
    .evaluateAll((trs) =>
      trs.map((tr) => ({ cells: Array.from(tr.children, (td) => td.textContent ?? ''), pass: (tr as HTMLElement).dataset.pass })),
    );
  expect(rows.length).toBeGreaterThan(30);
  expect(status).toContain(`${rows.length} of ${rows.length} cases pass, 0 fail`);
  for (const r of rows) {
    const [kernel, variant, shape, worst, tolerance, result] = r.cells;
    const at = `${kernel} ${variant} ${shape}`;
    expect(result, at).toBe('pass');
    expect(r.pass, at).toBe('true');
    expect(Number.parseFloat(worst!), at).toBeLessThanOrEqual(Number.parseFloat(tolerance!));
  }
  const kernels = new Set(rows.map((r) => r.cells[0]));
  for (const k of selfTestKernels) expect(kernels.has(k), k).toBe(true);
  await expect(page.getByTestId('selftest-notes')).toContainText('features:');
});
