// The browser side of `npm run bench`: runs the selected sections on WebGPU (TF.js as the matmul peer) and publishes the report.
import { loadCIFAR10InBrowser, makeCIFAR10Uint8, requestGpu, type SolverData } from '../src/index.ts';
import { isCpuAdapter } from '../src/engine.ts';
import { runBench, formatReport, type BenchReport } from './report.ts';
import { makeLargeEstimate, selectSections } from './sections/index.ts';
import type { BenchOptions } from './sections/types.ts';

declare global {
  interface Window {
    /** Resolves with the report (the CLI awaits it). */
    benchDone: Promise<BenchReport>;
  }
}

const q = new URLSearchParams(location.search);
const status = document.querySelector('[data-testid=status]')!;
const logEl = document.querySelector('[data-testid=log]')!;
const log = (line: string) => {
  console.log(line);
  logEl.textContent += `${line}\n`;
};

/** The seed's small_data from the dev server's CIFAR-10 (as bench-node.ts): 1000 training images and 1000 validation images, uint8 + mean image. */
async function loadData(): Promise<SolverData> {
  const { batches } = await loadCIFAR10InBrowser({ cache: false });
  const held = batches.train.reduce((n, b) => n + b.count, 0);
  const u8 = makeCIFAR10Uint8(batches, { numTraining: Math.min(3000, held - 1000), numValidation: 1000, numTest: 0 });
  const n = Math.min(1000, u8.train.count);
  return {
    XTrain: { data: u8.train.images.subarray(0, n * 3072), shape: [n, 3, 32, 32] },
    yTrain: u8.train.labels.subarray(0, n),
    XVal: { data: u8.val.images, shape: [u8.val.count, 3, 32, 32] },
    yVal: u8.val.labels,
    meanImage: u8.meanImage,
  };
}

async function main(): Promise<BenchReport> {
  const reps = Number(q.get('reps') ?? 10);
  const gpu = await requestGpu();
  const sizes = q.get('sizes') === 'large' ? 'large' : 'default';
  const only = q.get('only') ?? (sizes === 'large' ? 'matmul,bn,training,population' : null);
  if (sizes === 'large' && isCpuAdapter(gpu.adapter) && !q.has('force'))
    throw new Error(
      `--sizes large is sized for a GPU, and this adapter is a CPU: ${makeLargeEstimate(reps).text}; pass --force to run it anyway`,
    );
  const peers: BenchOptions['peers'] = {};
  if (q.get('tfjs') !== '0' && selectSections(only).some((s) => s.name === 'matmul')) {
    const { createTfjsPeer } = await import('./peers/tfjs.ts');
    peers.tfjsMatmul = await createTfjsPeer();
    log(`peer: ${peers.tfjsMatmul.name}, timed by ${peers.tfjsMatmul.timer}`);
  }
  if (q.get('tfjs') !== '0' && selectSections(only).some((s) => s.name === 'training')) {
    const { createTfjsTrainingPeer } = await import('./peers/tfjs-training.ts');
    peers.tfjsTraining = await createTfjsTrainingPeer();
    log(`peer: ${peers.tfjsTraining.name}, timed by wall clock over queued steps up to the last loss`);
  }
  status.textContent = 'running…';
  const sweepEpochs = q.has('sweepEpochs') ? Number(q.get('sweepEpochs')) : null;
  const report = await runBench(gpu, only, { reps, detail: q.has('detail'), sweepEpochs, sizes, peers, log, loadData });
  document.querySelector('[data-testid=result]')!.textContent = `${formatReport(report)}\n\n${JSON.stringify(report, null, 1)}`;
  status.textContent = 'done';
  return report;
}

window.benchDone = main();
window.benchDone.catch((e: Error) => {
  status.textContent = `error: ${e.message}`;
});
