// The dev-server plugin: serves /data/cifar10/<file> from $CIFAR10_DIR or data/cifar-10-batches-bin, 404s say where it looked.
import { cpSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cifar10DevServer } from '../../src/data/vite-plugin.ts';
import { sampleDir, tempDir } from './sample.ts';

let server: ViteDevServer;
let base: string;
const root = tempDir('vite-root');

beforeAll(async () => {
  server = await createServer({
    configFile: false, root, logLevel: 'silent', plugins: [cifar10DevServer()],
    server: { host: '127.0.0.1', port: 0, ws: false },
  });
  await server.listen();
  base = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`;
});
afterAll(() => server.close());
afterEach(() => vi.unstubAllEnvs());

describe('cifar10DevServer', () => {
  it('404s with where it looked, then serves data/cifar-10-batches-bin once it exists', async () => {
    vi.stubEnv('CIFAR10_DIR', '');
    const miss = await fetch(`${base}/data/cifar10/test_batch.bin`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe(
      `CIFAR-10: test_batch.bin not found; looked in ${join(root, 'data', 'cifar-10-batches-bin')}. Put the files in data/cifar-10-batches-bin or set CIFAR10_DIR.`,
    );
    cpSync(sampleDir, join(root, 'data', 'cifar-10-batches-bin'), { recursive: true });
    const hit = await fetch(`${base}/data/cifar10/test_batch.bin`);
    expect(hit.status).toBe(200);
    expect(Buffer.from(await hit.arrayBuffer()).equals(readFileSync(join(sampleDir, 'test_batch.bin')))).toBe(true);
  });

  it('serves $CIFAR10_DIR, answers HEAD with the size, and only serves CIFAR-10 file names', async () => {
    vi.stubEnv('CIFAR10_DIR', sampleDir);
    const head = await fetch(`${base}/data/cifar10/data_batch_1.bin`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('12292000');
    const missing = await fetch(`${base}/data/cifar10/data_batch_2.bin`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain(`data_batch_2.bin not found; looked in ${sampleDir} (CIFAR10_DIR)`);
    const other = await fetch(`${base}/data/cifar10/..%2F..%2Fetc%2Fpasswd`);
    expect(other.status).toBe(404);
    expect(await other.text()).toContain('is not a CIFAR-10 file');
  });
});
