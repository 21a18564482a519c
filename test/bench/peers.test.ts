// The bench's peers: merging PyTorch / TF.js figures into the report's rows (ratios by hand), and a peer that cannot run (null fields, one-line reason).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTorchSpec, mergePeers, type TorchResult } from '../../bench/peers/merge.ts';
import { runTorchPeer } from '../../bench/peers/torch.ts';

const makeReport = () => ({
  reps: 5,
  matmul: [
    { m: 2, n: 3, k: 4, transA: false, transB: true, ms: 2, gflops: 48 / 2e6, tfjsMs: 8, tfjsGflops: 48 / 8e6 },
    { m: 5, n: 5, k: 5, transA: false, transB: false, ms: 1, gflops: 250 / 1e6, tfjsMs: null, tfjsGflops: null },
  ],
  bnBackward: [{ n: 10, d: 20, graphMs: 1, altMs: 0.5 }],
  training: [
    { net: '[100]x5 batchnorm', hiddenDims: [100], useBatchnorm: true, batch: 50, steps: 10, msPerStep: 10, tfjsMsPerStep: null },
    { net: '[100]x5 batchnorm', hiddenDims: [100], useBatchnorm: true, batch: 50, steps: 10, msPerStep: 12, tfjsMsPerStep: 24 },
  ],
  population: [{ models: 20, hiddenDims: [50], useBatchnorm: true, batch: 50, steps: 10, msPerStep: 4, buildMs: 100 }],
});

const torch: TorchResult = {
  name: 'PyTorch test (CPU)',
  device: 'cpu',
  timer: 'perf_counter',
  matmul: [{ m: 2, n: 3, k: 4, transA: false, transB: true, medianMs: 4, minMs: 3 }],
  bn: [{ n: 10, d: 20, medianMs: 1.5, minMs: 1 }],
  training: [{ hiddenDims: [100], useBatchnorm: true, batch: 50, msPerStep: 30, graphMsPerStep: 5, adam: 'foreach' }],
  population: [{ models: 20, msPerStep: 8, graphMsPerStep: null, buildMs: 50, adam: 'foreach' }],
};

describe('mergePeers', () => {
  it('gives each row the peer figures and vs = peer time / ours, matched by shape', () => {
    const r = mergePeers(makeReport(), { tfjs: { name: 'TF.js', timer: 'wall' }, torch });
    const [mm, mmUnmatched] = r.matmul as Record<string, unknown>[];
    expect(mm).toMatchObject({ torchMs: 4, vsTorch: 2, vsTfjs: 4 });
    expect(mm!.torchGflops).toBeCloseTo(48 / 4e6, 12); // 2·m·n·k FLOP over 4 ms
    expect(mm!.torchBestGflops).toBeCloseTo(48 / 3e6, 12);
    expect(mmUnmatched).toMatchObject({ torchMs: null, torchGflops: null, vsTorch: null, vsTfjs: null });
    const bn = (r.bnBackward as Record<string, unknown>[])[0]!;
    expect(bn.vsTorch).toBeCloseTo(3, 12); // 1.5 ms / 0.5 ms (our closed-form alternative)
    expect(bn.torchGBps).toBeCloseTo((12 * 10 * 20) / 1.5e6, 12);
    const [t1, t2] = r.training as Record<string, unknown>[];
    expect(t1).toMatchObject({ torchMsPerStep: 30, torchGraphMsPerStep: 5, vsTorch: 3, vsTorchGraph: 0.5, tfjsMsPerStep: 24, vsTfjs: 2.4 }); // TF.js's one figure for this net
    expect(t2).toMatchObject({ vsTorch: 2.5, vsTfjs: 2 });
    expect((r.population as Record<string, unknown>[])[0]).toMatchObject({
      torchMsPerStep: 8,
      vsTorch: 2,
      torchGraphMsPerStep: null,
      vsTorchGraph: null,
    });
    expect((r as Record<string, unknown>).peers).toEqual({
      tfjs: { name: 'TF.js', timer: 'wall' },
      torch: { name: 'PyTorch test (CPU)', timer: 'perf_counter', device: 'cpu' },
    });
  });

  it('leaves every peer field null and keeps the reason when a peer cannot run', () => {
    const r = mergePeers(makeReport(), { tfjs: { reason: 'not asked for (--peers tfjs)' }, torch: { reason: 'no torch at python3' } });
    for (const row of [...r.matmul, ...r.bnBackward, ...r.training, ...r.population] as Record<string, unknown>[]) {
      for (const k of Object.keys(row).filter((k) => /^torch|^vsTorch/.test(k))) expect(row[k], k).toBeNull();
    }
    expect((r.matmul[0] as Record<string, unknown>).vsTfjs).toBe(4); // TF.js figures the page measured stay
    expect((r as Record<string, unknown>).peers).toEqual({
      tfjs: { reason: 'not asked for (--peers tfjs)' },
      torch: { reason: 'no torch at python3' },
    });
  });

  it('asks the PyTorch peer for our shapes, each training net once', () => {
    const spec = makeTorchSpec(makeReport());
    expect(spec.matmul).toEqual([
      { m: 2, n: 3, k: 4, transA: false, transB: true },
      { m: 5, n: 5, k: 5, transA: false, transB: false },
    ]);
    expect(spec.training).toEqual([{ hiddenDims: [100], useBatchnorm: true, batch: 50, steps: 10 }]);
    expect(spec).toMatchObject({ reps: 5, bn: [{ n: 10, d: 20 }], population: [{ models: 20, steps: 10 }] });
  });
});

describe('the sweep beside PyTorch', () => {
  const ours = { models: 40, steps: 20, epochs: 1, sequentialMs: 30_000, batchedMs: 15_000 };
  it('asks for the sweep only when ours ran and its rows were written, with our epochs', () => {
    const files = { scales: [1e-4, 1], hiddenDims: [50], batch: 50, numTrainSamples: 1000, dataDir: '/tmp/x' };
    expect(makeTorchSpec({ ...makeReport(), sweep: { ...ours } }, files).sweep).toEqual({ ...files, epochs: 1 });
    expect(makeTorchSpec({ ...makeReport(), sweep: 'not available: this runner has no CIFAR-10 loader' }, files).sweep).toBeUndefined();
    expect(makeTorchSpec({ ...makeReport(), sweep: { ...ours } }).sweep).toBeUndefined();
  });
  it('gives the sweep its PyTorch times and vs = peer time / our batched time (hand-computed)', () => {
    const report = mergePeers(
      { ...makeReport(), sweep: { ...ours } as Record<string, unknown> },
      {
        tfjs: { reason: 'not asked for' },
        torch: { ...torch, sweep: { models: 40, steps: 20, epochs: 1, sequentialMs: 390_000, batchedMs: 6_000, how: '' } },
      },
    );
    expect(report.sweep).toMatchObject({ torchSequentialMs: 390_000, torchBatchedMs: 6_000, vsTorchSequential: 26, vsTorchBatched: 0.4 });
    const without = mergePeers(
      { ...makeReport(), sweep: { ...ours } as Record<string, unknown> },
      { tfjs: { reason: 'x' }, torch: { reason: 'no torch' } },
    );
    expect(without.sweep).toMatchObject({ torchSequentialMs: null, torchBatchedMs: null, vsTorchSequential: null, vsTorchBatched: null });
  });
});

describe('runTorchPeer cannot run', () => {
  it('says in one line that the Python does not exist', async () => {
    const r = await runTorchPeer('/nonexistent/python3', { reps: 1 });
    expect(r).toEqual({ reason: expect.stringMatching(/^cannot start \/nonexistent\/python3: .*ENOENT/) });
  });

  it('says in one line that torch does not import', async () => {
    // a `torch` that fails to import shadows any real one, so this holds on a machine with torch too
    const dir = mkdtempSync(join(tmpdir(), 'no-torch-'));
    mkdirSync(join(dir, 'torch'));
    writeFileSync(join(dir, 'torch', '__init__.py'), 'raise ImportError("test: torch withheld")\n');
    const saved = process.env.PYTHONPATH;
    process.env.PYTHONPATH = dir;
    try {
      const r = await runTorchPeer('python3', { reps: 1 });
      expect(r).toEqual({ reason: expect.stringMatching(/^no torch at \S+ \(ImportError: test: torch withheld\)$/) });
    } finally {
      if (saved === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = saved;
    }
  });
});
