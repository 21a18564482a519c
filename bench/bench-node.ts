// The benchmark under Node on a real GPU (or SwiftShader) through the `webgpu` package (Dawn); TF.js figures are null here.
//   node bench/build-node.mjs && node bench/dist/bench-node.mjs [--json] [--only matmul,bn] [--reps N] [--detail] [--sweep-epochs N]
// requestGpu() finds SwiftShader itself when the machine has no GPU, and asks Dawn for unquantized timestamps.
import { requestGpu, getCIFAR10Uint8 } from '../src/node.ts';
import { formatReport, parseBenchArgs, runBench } from './report.ts';
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

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const gpu = await requestGpu();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report = await runBench(gpu, args.only, {
    reps: args.reps,
    detail: args.detail,
    sweepEpochs: args.sweepEpochs,
    peers: {},
    log,
    loadData,
  });
  console.log(formatReport(report));
  if (args.json) console.log(JSON.stringify(report));
  gpu.device.destroy();
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench-node failed: ${process.env.BENCH_DEBUG ? e.stack : e.message}\n`);
    process.exit(1);
  },
);
