// The PyTorch peer from Node: runs bench/peers/torch-peer.py under a given Python with a JSON spec, returns its figures or why it cannot run.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TorchResult, TorchSpec } from './merge.ts';

/** Where the Python file is: beside this module (sources), from bench/dist/ (the bundle), or from .gpu/ (gpu-pack's copy of it, with torch_sweep.py). */
function scriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, 'torch-peer.py'), join(here, '../peers/torch-peer.py'), join(here, '../bench/peers/torch-peer.py')].find(
    existsSync,
  );
  if (!found) throw new Error(`bench: torch-peer.py not found near ${here}`);
  return found;
}

/**
 * Run the PyTorch peer on `spec` with `python`; never throws for "cannot run" (no Python, no torch, a crash): it says why.
 *   const r = await runTorchPeer('/usr/bin/python3', { reps: 5, matmul: [{ m: 50, n: 100, k: 3072, transA: false, transB: false }] });
 *   'reason' in r ? console.log(r.reason) : r.matmul[0].medianMs;
 */
export async function runTorchPeer(python: string, spec: TorchSpec, timeoutMs = 3_600_000): Promise<TorchResult | { reason: string }> {
  let script: string;
  try {
    script = scriptPath();
  } catch (e) {
    return { reason: (e as Error).message };
  }
  return new Promise((resolve) => {
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ reason: `cannot start ${python}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        resolve({ reason: `${python} ${script}: ${why}: ${(err.trim().split('\n').pop() ?? '').slice(0, 300)}` });
        return;
      }
      try {
        resolve(JSON.parse(last) as TorchResult | { reason: string });
      } catch (e) {
        resolve({ reason: `${python}: unreadable output (${(e as Error).message})` });
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}
