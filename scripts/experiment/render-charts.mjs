// The charts of a Node run as PNG: the demo page, opened in Chromium with no run, shows the results record and exports its uPlot charts.
import { createDemoServer } from './server.mjs';
import { chartPngs, openDemoPage } from './page-runner.mjs';

/**
 * The PNGs of `panel`'s charts drawn from `results` (the record a Node run made), or a reason why there are none
 * (no Chromium here, a page that failed): `{ files: [{ name, bytes }] }` or `{ files: [], skipped: 'why' }`.
 *   const { files, skipped } = await renderCharts(root, 'batchnorm', record.results, { chromiumPath });
 */
export async function renderCharts(root, panel, results, { chromiumPath, say = () => {} } = {}) {
  const demo = await createDemoServer(root, say);
  try {
    let executable;
    try {
      executable = (await demo.browserLaunch(chromiumPath)).executablePath;
    } catch (e) {
      return { files: [], skipped: `no Chromium to draw the charts (${e.message.split('. ')[0]}); JSON and CSV are written` };
    }
    await demo.server.listen();
    // no data needed: the page only draws the results it is given (its CIFAR-10 box may say it found none)
    const url = `${demo.server.resolvedUrls.local[0]}demo/?run=${panel}&data=${encodeURIComponent('/no-data/')}`;
    const { browser, page } = await openDemoPage(demo, url, { chromiumPath: executable });
    try {
      if (!(await page.evaluate((p) => typeof window.demo.panels[p]?.show === 'function', panel)))
        return { files: [], skipped: `the ${panel} panel has no charts` };
      await page.evaluate(([p, r]) => window.demo.panels[p].show(r), [panel, results]);
      return { files: await chartPngs(page, panel) };
    } finally {
      await browser.close();
    }
  } finally {
    await demo.close();
  }
}
