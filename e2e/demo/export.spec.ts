// Share and export: results download as JSON and CSV, charts as PNG, parameters as safetensors (checked element-wise against the float64 reference trained on the same minibatches); the link holds the settings.
import { readFileSync } from 'node:fs';
import { test, expect, small } from '../demo-fixtures.ts';

/** The tensors of a safetensors file, read here by hand from the format (not by the library's decoder): F32 data by name. */
function readTensors(bytes: Buffer): Record<string, { shape: number[]; data: Float32Array }> {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    expect(h.dtype, name).toBe('F32');
    const [b, e] = h.data_offsets;
    expect(e - b, `${name} bytes`).toBe(4 * h.shape.reduce((x, y) => x * y, 1));
    const data = new Float32Array((e - b) >> 2);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(8 + n + b + 4 * i);
    out[name] = { shape: h.shape, data };
  }
  return out;
}

test('a finished run downloads as JSON, CSV, PNG and safetensors, and the share link holds its settings', async ({ demo }) => {
  test.setTimeout(180_000);
  await demo.open(`${small.batchnorm}&run=batchnorm&autorun=1`);
  const { page } = demo;
  await expect(page.locator('body')).toHaveAttribute('data-autorun', 'done', { timeout: 160_000 });
  await expect(page.getByTestId('exp1-status')).toHaveText(/^done/);
  const downloads: import('@playwright/test').Download[] = [];
  page.on('download', (d) => downloads.push(d));
  /** Click a download button and return the `count` files it saves. */
  const save = async (what: string, count = 1) => {
    const before = downloads.length;
    await page.getByTestId(`exp1-download-${what}`).click();
    await expect.poll(() => downloads.length).toBe(before + count);
    return Promise.all(downloads.slice(before).map(async (d) => ({ name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) })));
  };
  const [json] = await save('json');
  expect(json.name).toBe('batchnorm-results.json');
  const r = JSON.parse(json.bytes.toString('utf8'));
  expect(r.settings.numTrain).toBe(200);
  expect(r.models.batchnorm.lossHistory).toHaveLength(8);
  expect(r.models.baseline.valAccHistory).toHaveLength(3);
  expect(r.adapter.architecture).toBeTruthy();
  const [csv] = await save('csv');
  expect(csv.bytes.toString('utf8').split('\n')[0]).toBe('model,series,x,value');
  const pngs = await save('png', 3);
  expect(pngs.map((p) => p.name).sort()).toEqual(['exp1-loss.png', 'exp1-train-acc.png', 'exp1-val-acc.png']);
  for (const p of pngs) expect(p.bytes.subarray(1, 4).toString()).toBe('PNG');
  const files = await save('safetensors', 2);
  expect(files.map((f) => f.name)).toEqual(['batchnorm-experiment-batchnorm.safetensors', 'batchnorm-experiment-baseline.safetensors']);
  const st = files[0]!;
  const headerLength = Number(st.bytes.readBigUInt64LE(0));
  const header = JSON.parse(st.bytes.subarray(8, 8 + headerLength).toString('utf8'));
  expect(header.W1.shape).toEqual([3072, 32]);
  expect(header.gamma1.shape).toEqual([32]);
  await expect(page.getByTestId('share-link')).toHaveAttribute('href', /run=batchnorm&autorun=1.*b\.hidden=32x2.*b\.epochs=2/);

  // The exported data against the float64 reference trained by the page on the same minibatches (model=cpu, same seed):
  // every element of every tensor, both networks.
  const gpuFiles = files.map((f) => readTensors(f.bytes));
  await demo.open(`model=cpu&${small.batchnorm}&run=batchnorm&autorun=1`);
  await expect(page.locator('body')).toHaveAttribute('data-autorun', 'done', { timeout: 160_000 });
  // both models' files use the same names (the GPU model's: W1, gamma1, runningMean1, ...)
  const cpuSaved = await save('safetensors', 2);
  const cpuFiles = cpuSaved.map((f) => readTensors(f.bytes));
  // A bias right before batchnorm has an exactly-zero true gradient: f64 keeps it at ~0, while Adam turns f32 rounding
  // noise into steps of at most about lr·(1-β1)/√(1-β2) ≈ 3.2·lr each; the running means inherit that shift. Those are
  // bounded by the steps taken; every other element must agree to 2e-3 relative (floored at 1% of the tensor's largest).
  const drift = 3.2 * r.settings.lr * r.models.batchnorm.lossHistory.length;
  const worst: string[] = [];
  for (let k = 0; k < 2; k++) {
    const [gpu, cpu] = [gpuFiles[k]!, cpuFiles[k]!];
    const net = k ? 'baseline' : 'batchnorm';
    expect(Object.keys(gpu).sort()).toEqual(Object.keys(cpu).sort());
    for (const [name, want] of Object.entries(cpu)) {
      const got = gpu[name]!;
      expect(got.shape, name).toEqual(want.shape);
      const zeroGradient = net === 'batchnorm' && /^(b[12]|runningMean[12])$/.test(name);
      const scale = want.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let bad = 0;
      let err = 0;
      want.data.forEach((w, i) => {
        const d = Math.abs(got.data[i]! - w);
        const e = zeroGradient ? d / drift : d / (2e-3 * (Math.abs(w) + 1e-2 * scale) + 1e-7);
        if (e > err) [err, bad] = [e, i];
      });
      worst.push(`${net} ${name}: ${err.toFixed(3)} of its bound at ${bad} (gpu ${got.data[bad]}, f64 ${want.data[bad]})`);
      expect(err, `${net} ${name}[${bad}]: gpu ${got.data[bad]}, f64 ${want.data[bad]}`).toBeLessThanOrEqual(1);
    }
  }
  console.log(worst.join('\n')); // the margins, for the record

  // The CPU model's file loads into a GPU model of the same architecture (every tensor by name, none missing: not a
  // partial load), and the GPU model then holds the file's values exactly.
  for (const [k, f] of cpuSaved.entries()) {
    const loaded = await page.evaluate(
      async ([bytes, batchnorm]) => {
        // the library's modules as the dev server serves them to the page
        const entry: string = '/src/index.ts';
        const lib = (await import(entry)) as typeof import('../../src/index.ts');
        const gpu = await lib.requestGpu();
        const net = await lib.FullyConnectedNeuralNet.create(gpu, [32, 32], { useBatchnorm: batchnorm, seed: 99 });
        try {
          net.loadSafetensors(Uint8Array.from(bytes));
          const params = await net.getParams();
          return Object.fromEntries(Object.entries(params).map(([name, t]) => [name, Array.from(t.data)]));
        } finally {
          net.destroy();
          gpu.device.destroy();
        }
      },
      [Array.from(f.bytes), k === 0] as const,
    );
    const want = cpuFiles[k]!;
    expect(Object.keys(loaded).sort(), f.name).toEqual(Object.keys(want).sort());
    for (const [name, t] of Object.entries(want)) expect(loaded[name], `${f.name} ${name}`).toEqual(Array.from(t.data));
  }
});
