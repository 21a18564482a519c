// The benchmark under Node on a real GPU (or SwiftShader) through the `webgpu` package (Dawn), with TF.js and PyTorch beside it when asked.
//   node bench/build-node.mjs && node bench/dist/bench-node.mjs [--json] [--only matmul,bn] [--reps N] [--detail] [--sweep-epochs N]
//     [--peers tfjs,torch] [--python PATH] [--sizes large [--force]] [--dawn-enable a,b] [--dawn-disable c] [--adapter]
//     [--only population-profile --models 20,100,1000 [--gpu-plan] [--counts-only]]
// requestGpu() finds SwiftShader itself when the machine has no GPU, and asks Dawn for unquantized timestamps.
import { requestGpu, getCIFAR10Uint8 } from '../src/node.ts';
import { isCpuAdapter } from '../src/engine.ts';
import { formatReport, runBench } from './report.ts';
import { parseBenchArgs } from './args.ts';
import { makeLargeEstimate, selectSections } from './sections/index.ts';
import { sweepHiddenDims, sweepScales } from './sections/sweep.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTorchSpec, mergePeers, type PeerInfo } from './peers/merge.ts';
import { runTorchPeer } from './peers/torch.ts';
import type { BenchOptions } from './sections/types.ts';
import type { SolverData } from '../src/node.ts';

/** The seed's small_data: 1000 training images (of the first 3000) and 1000 validation images, uint8 + mean image. */
async function loadData(): Promise<SolverData> {
  const u8 = await getCIFAR10Uint8({ numTraining: 3000, numValidation: 1000, numTest: 0, download: false });
  return {
    XTrain: { data: u8.train.images.subarray(0, 1000 * 3072), shape: [1000, 3, 32, 32] },
    yTrain: u8.train.labels.subarray(0, 1000),
    XVal: { data: u8.val.images, shape: [1000, 3, 32, 32] },
    yVal: u8.val.labels,
    meanImage: u8.meanImage,
  };
}

/** The sweep's data as raw files for the PyTorch peer (uint8 images and labels of both splits, the f32 mean image). */
async function writeSweepData(): Promise<string> {
  const data = await loadData();
  const dir = mkdtempSync(join(tmpdir(), 'wb-sweep-'));
  const bytes = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(join(dir, 'xtrain.u8'), bytes(data.XTrain.data as Uint8Array));
  writeFileSync(join(dir, 'ytrain.u8'), Uint8Array.from(data.yTrain));
  writeFileSync(join(dir, 'xval.u8'), bytes(data.XVal.data as Uint8Array));
  writeFileSync(join(dir, 'yval.u8'), Uint8Array.from(data.yVal));
  writeFileSync(join(dir, 'mean.f32'), bytes(Float32Array.from(data.meanImage!)));
  return dir;
}

/** TF.js on the same Dawn adapter, as the matmul and training peers of the sections chosen; or why not, in one line. */
async function tfjsPeers(only: string | null, toggles: { enable: string[]; disable: string[] }, log: (l: string) => void) {
  const peers: BenchOptions['peers'] = {};
  try {
    const { installNodeNavigatorGpu } = await import('./peers/tfjs-node.ts');
    await installNodeNavigatorGpu(toggles);
    const names = selectSections(only).map((s) => s.name);
    if (names.includes('matmul')) peers.tfjsMatmul = await (await import('./peers/tfjs.ts')).createTfjsPeer();
    if (names.includes('training')) peers.tfjsTraining = await (await import('./peers/tfjs-training.ts')).createTfjsTrainingPeer();
    const p = peers.tfjsMatmul ?? peers.tfjsTraining;
    const info: PeerInfo = p
      ? { name: p.name, timer: peers.tfjsMatmul?.timer ?? 'wall clock over queued steps' }
      : { reason: 'no section with a TF.js peer (matmul, training) was chosen' };
    log(`peer: ${'name' in info ? info.name : info.reason}`);
    return { peers, info };
  } catch (e) {
    const info = { reason: `TF.js cannot run here: ${(e as Error).message.split('\n')[0]}` };
    log(`peer: ${info.reason}`);
    return { peers: {}, info };
  }
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const gpu = await requestGpu({ dawnToggles: { enable: args.dawnEnable, disable: args.dawnDisable } });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (args.adapterOnly) {
    console.log(JSON.stringify(gpu.adapter, null, 1));
    gpu.device.destroy();
    return;
  }
  if (args.sizes === 'large' && isCpuAdapter(gpu.adapter) && !args.force) {
    const { vendor, architecture, description } = gpu.adapter;
    throw new Error(
      `--sizes large is sized for a GPU, and this adapter (${`${vendor} ${architecture} ${description}`.trim()}) is a CPU: ${makeLargeEstimate(args.reps).text}; pass --force to run it anyway`,
    );
  }
  // the large run is the full side by side: the populations too
  const only = args.only ?? (args.sizes === 'large' ? 'matmul,bn,training,population' : null);
  const toggles = gpu.adapter.detail?.dawnToggles ?? { enable: [], disable: [] };
  const tfjs = args.peers.includes('tfjs')
    ? await tfjsPeers(only, toggles, log)
    : { peers: {}, info: { reason: 'not asked for (--peers tfjs)' } };
  const report = await runBench(gpu, only, {
    reps: args.reps,
    detail: args.detail,
    sweepEpochs: args.sweepEpochs,
    sizes: args.sizes,
    profileModels: args.models ?? undefined,
    gpuPlan: args.gpuPlan,
    countsOnly: args.countsOnly,
    peers: tfjs.peers,
    log,
    loadData,
  });
  gpu.device.destroy();
  let torch: Awaited<ReturnType<typeof runTorchPeer>> = { reason: 'not asked for (--peers torch)' };
  if (args.peers.includes('torch')) {
    log(`-- PyTorch peer (${args.python})`);
    // the sweep's rows go to the peer as files: the same images, labels and mean image ours trained on
    const sweepDir = typeof report.sweep === 'object' ? await writeSweepData() : null;
    try {
      const sweep = sweepDir
        ? { scales: sweepScales, hiddenDims: sweepHiddenDims, batch: 50, numTrainSamples: 1000, dataDir: sweepDir }
        : undefined;
      torch = await runTorchPeer(args.python, makeTorchSpec(report, sweep));
    } finally {
      if (sweepDir) rmSync(sweepDir, { recursive: true, force: true });
    }
    log(`peer: ${'reason' in torch ? torch.reason : torch.name}`);
  }
  mergePeers(report, { tfjs: tfjs.info, torch });
  console.log(formatReport(report));
  if (args.json) console.log(JSON.stringify(report));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench-node failed: ${process.env.BENCH_DEBUG ? e.stack : e.message}\n`);
    process.exit(1);
  },
);
