// Runs `npm run experiment` (scripts/experiment.mjs) as a person would, for the CLI specs.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/**
 * Run the experiment CLI with `args` (and `env` added to this process's environment); resolves with its exit code and output (never rejects).
 *   const r = await runCli(['batchnorm', '--epochs', '1']);
 *   r.code; // 0
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, 'scripts', 'experiment.mjs'), ...args],
      // killed past 390 s: the longest timeout a CLI spec sets (the selftest's 400 s); a test's own timeout ends it sooner
      { cwd: root, timeout: 390_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
