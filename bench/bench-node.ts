// The benchmark under Node on a real GPU (or SwiftShader) through the `webgpu` package (Dawn); TF.js figures are null here.
//   node bench/build-node.mjs && node bench/dist/bench-node.mjs [--json] [--only matmul,bn] [--reps N] [--detail]
// requestGpu() finds SwiftShader itself when the machine has no GPU, and asks Dawn for unquantized timestamps.
import { requestGpu } from '../src/gpu/device.ts';
import { formatReport, parseBenchArgs, runBench } from './report.ts';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const gpu = await requestGpu();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report = await runBench(gpu, args.only, { reps: args.reps, detail: args.detail, peers: {}, log });
  console.log(formatReport(report));
  if (args.json) console.log(JSON.stringify(report));
  gpu.device.destroy();
}

main().then(() => process.exit(0), (e: Error) => {
  process.stderr.write(`bench-node failed: ${process.env.BENCH_DEBUG ? e.stack : e.message}\n`);
  process.exit(1);
});
