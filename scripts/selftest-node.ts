// The GPU self-test as one self-contained Node program, for a GPU server with no checkout, no browser and no esbuild:
//   node bench/build-node.mjs scripts/selftest-node.ts bench/dist/selftest-node.mjs   # here (WGSL inlined)
//   npm install webgpu && node selftest-node.mjs [--out DIR] [--tolerance-scale X]      # there: table on stdout, exit 1 on a failure
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatSelfTest, runSelfTest } from '../demo/experiments/selftest.ts';
import { requestGpu } from '../src/node.ts';

/** `--name value` from argv, or undefined. */
function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
  return argv[i + 1];
}

/**
 * Run the self-test on this machine's GPU, print the table, write selftest.json with --out; resolves with the exit code.
 *   process.exitCode = await main(['--out', 'out']);
 */
export async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a.startsWith('--') && !['--out', '--tolerance-scale'].includes(a));
  if (unknown.length) throw new Error(`unknown option ${unknown[0]} (options: --out DIR, --tolerance-scale X)`);
  const scaleText = option(argv, '--tolerance-scale');
  const toleranceScale = scaleText === undefined ? 1 : Number(scaleText);
  if (!(toleranceScale >= 0)) throw new Error(`--tolerance-scale must be a number >= 0, got ${scaleText}`);
  const gpu = await requestGpu();
  try {
    const results = await runSelfTest(gpu, { toleranceScale });
    process.stdout.write(`${formatSelfTest(results)}\n`);
    const out = option(argv, '--out');
    if (out) {
      mkdirSync(resolve(out), { recursive: true });
      const record = { command: 'selftest', runtime: 'node', adapter: gpu.adapter, node: process.version, toleranceScale, results };
      writeFileSync(join(resolve(out), 'selftest.json'), `${JSON.stringify(record, null, 2)}\n`);
    }
    return results.failed || !results.rows.length ? 1 : 0;
  } finally {
    gpu.device.destroy(); // lets the process exit
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stderr.write(`selftest: ${e.message}\n`);
    process.exitCode = 1;
  },
);
