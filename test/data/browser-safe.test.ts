// src/data/index.ts must bundle for the browser: no node: module, no Node-only file (download, locate, dev-server plugin).
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('the browser entry', () => {
  it('bundles for the browser without Node modules', async () => {
    const out = await build({
      entryPoints: ['src/data/index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.some((p) => p.startsWith('node:'))).toBe(false);
    expect(inputs.filter((p) => /(download|locate|get-cifar10-data|vite-plugin|node)\.ts$/.test(p))).toEqual([]);
    expect(inputs).toContain('src/data/browser.ts');
  });
});
