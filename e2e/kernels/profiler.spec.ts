// The per-dispatch profiler and the copy roof on the adapter, with batchnorm backward's real dispatch lists at n = 4, d = 3.
import { test, expect } from '../fixtures.ts';

test('profileDispatches times every dispatch of both backward lists; bytes per pass match the hand count', async ({ harness }) => {
  const r = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const n = 4;
    const d = 3;
    const scope = lib.createScope(gpu);
    try {
      const buf = (len: number, label: string) =>
        scope.createTensorBuffer(
          Float32Array.from({ length: len }, (_, i) => Math.sin(i + 1)),
          label,
        );
      const common = {
        dout: buf(n * d, 'dout'),
        xhat: buf(n * d, 'xhat'),
        invStd: scope.createTensorBuffer(new Float32Array(d).fill(2), 'invStd'),
        gamma: buf(d, 'gamma'),
        dgamma: buf(d, 'dgamma'),
        dbeta: buf(d, 'dbeta'),
        n,
        d,
      };
      const graph = await lib.createBatchNormBackward(scope, {
        ...common,
        dx: buf(n * d, 'dx graph'),
        variant: 'graph',
        x: buf(n * d, 'x'),
        mean: buf(d, 'mean'),
        graphInOne: false, // the staged graph, one pass per node group, as the speedup experiment times it
      });
      const alternative = await lib.createBatchNormBackward(scope, { ...common, dx: buf(n * d, 'dx alt'), variant: 'alternative' });
      const pg = await lib.profileDispatches(gpu, graph, { reps: 3 });
      const pa = await lib.profileDispatches(gpu, alternative, { reps: 3 });
      const wall = await lib.profileDispatches(gpu, graph, { reps: 2, forceWallClock: true });
      const roof = await lib.measureCopyBandwidth(gpu, { bytes: 1 << 20, reps: 3 });
      return {
        timestampQuery: gpu.hasTimestampQuery,
        graphCount: graph.length,
        altCount: alternative.length,
        pg,
        pa,
        wall,
        roof,
        graphBytes: lib.batchNormBackwardBytes(graph, n, d),
        altBytes: lib.batchNormBackwardBytes(alternative, n, d),
        graphLabels: graph.map((x) => x.label),
      };
    } finally {
      scope.destroy();
    }
  });
  expect(r.pg.kind).toBe(r.timestampQuery ? 'timestamp-query' : 'wall-clock');
  expect(r.wall.kind).toBe('wall-clock');
  for (const [p, count] of [
    [r.pg, r.graphCount],
    [r.pa, r.altCount],
    [r.wall, r.graphCount],
  ] as const) {
    expect(p.dispatches.length).toBe(count);
    for (const x of p.dispatches) {
      expect(x.samples.length).toBeGreaterThan(1);
      expect(x.medianMs).toBeGreaterThan(0);
      expect(Number.isFinite(x.medianMs)).toBe(true);
    }
    expect(p.totalMs).toBeCloseTo(
      p.dispatches.reduce((s, x) => s + x.medianMs, 0),
      9,
    );
  }
  expect(r.pg.dispatches.map((x) => x.label)).toEqual(r.graphLabels);
  // n = 4, d = 3 is one chunk: the graph's five column passes and the closed form's one (see test/ops/batchnorm-traffic.test.ts)
  expect(r.graphLabels.map((l) => l.replace(/^.* d=3 /, ''))).toEqual(['dbeta+dgamma', 'dxhat', 'dvar', 'dmu', 'dx']);
  expect(r.graphBytes).toEqual([4 * 30, 4 * 27, 4 * 30, 4 * 48, 4 * 27]); // 120, 108, 120, 192, 108 = 648
  expect(r.altBytes).toEqual([4 * 48]); // dout, xhat, dx (12 each), gamma, invStd, dbeta, dgamma (3 each)
  expect(r.roof.bytes).toBe(1 << 20);
  expect(r.roof.kernelGbps).toBeGreaterThan(0);
  expect(r.roof.kernelGbps).toBeCloseTo((2 * (1 << 20)) / (r.roof.kernelMs * 1e6), 6);
  expect(r.roof.copyBufferGbps).toBeGreaterThan(0);
  console.log(
    `copy roof at 1 MiB: kernel ${r.roof.kernelGbps.toFixed(2)} GB/s, copyBufferToBuffer ${r.roof.copyBufferGbps.toFixed(2)} GB/s`,
  );
});

test('profileDispatches and measureCopyBandwidth refuse bad input, naming it', async ({ harness }) => {
  const errors = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const msg = async (f: () => Promise<unknown>) =>
      f().then(
        () => 'no error',
        (e: Error) => e.message,
      );
    return [await msg(() => lib.profileDispatches(gpu, [])), await msg(() => lib.measureCopyBandwidth(gpu, { bytes: 100 }))];
  });
  expect(errors[0]).toContain('no dispatches');
  expect(errors[1]).toContain('multiple of 16');
});
