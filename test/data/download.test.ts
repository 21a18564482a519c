// Download end to end against a local HTTP server on 127.0.0.1 serving an archive made from the sample.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { downloadCIFAR10, formatProgress } from '../../src/data/download.ts';
import type { DownloadProgress } from '../../src/data/download.ts';
import { getCIFAR10Uint8 } from '../../src/data/get-cifar10-data.ts';
import { makeSampleArchive, tempDir } from './sample.ts';

let archive: Buffer;
let md5: string;
let server: Server;
let base: string;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  archive = readFileSync(makeSampleArchive());
  md5 = createHash('md5').update(archive).digest('hex');
  // /slow: the archive in 1 MB pieces 20 ms apart; /cut: half of it, then the socket is destroyed
  server = createServer(async (req, res) => {
    if (req.url !== '/slow/cifar-10-binary.tar.gz' && req.url !== '/cut/cifar-10-binary.tar.gz') {
      res.writeHead(404).end('no such file');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': archive.length });
    const stop = req.url.startsWith('/cut') ? archive.length >> 1 : archive.length;
    for (let at = 0; at < stop; at += 1 << 20) {
      res.write(archive.subarray(at, Math.min(stop, at + (1 << 20))));
      await sleep(20);
    }
    if (stop < archive.length) res.destroy();
    else res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => vi.unstubAllEnvs());

describe('downloadCIFAR10', () => {
  it('downloads with progress, checks the MD5 and renames the .partial file', async () => {
    const dir = tempDir('dl');
    const seen: DownloadProgress[] = [];
    const during: string[][] = [];
    const path = await downloadCIFAR10({
      url: `${base}/slow/cifar-10-binary.tar.gz`, dir, md5, progressBar: false,
      onProgress: (p) => { seen.push(p); during.push(readdirSync(dir)); },
    });
    expect(path).toBe(join(dir, 'cifar-10-binary.tar.gz'));
    expect(readFileSync(path).equals(archive)).toBe(true);
    expect(readdirSync(dir)).toEqual(['cifar-10-binary.tar.gz']);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toMatchObject({ received: archive.length, total: archive.length });
    expect(seen.every((p, i) => p.rate > 0 && (i === 0 || p.received >= seen[i - 1].received))).toBe(true);
    expect(during.every((names) => names.join() === 'cifar-10-binary.tar.gz.partial')).toBe(true);
  });

  it('rejects a checksum mismatch and leaves no file', async () => {
    const dir = tempDir('dl-md5');
    await expect(
      downloadCIFAR10({ url: `${base}/slow/cifar-10-binary.tar.gz`, dir, md5: '0'.repeat(32), progressBar: false }),
    ).rejects.toThrow(`cifar-10-binary.tar.gz from ${base}/slow/cifar-10-binary.tar.gz: MD5 ${md5} does not match the expected ${'0'.repeat(32)}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an interrupted transfer leaves no complete-looking file', async () => {
    const dir = tempDir('dl-cut');
    const during: string[][] = [];
    await expect(
      downloadCIFAR10({
        url: `${base}/cut/cifar-10-binary.tar.gz`, dir, md5, progressBar: false,
        onProgress: () => void during.push(readdirSync(dir)),
      }),
    ).rejects.toThrow(/download of .*\/cut\/cifar-10-binary.tar.gz interrupted after \d+ bytes: other side closed/);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((names) => names.join() === 'cifar-10-binary.tar.gz.partial')).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unreachable server gives the clear message', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/cifar-10-binary.tar.gz`;
    await new Promise<void>((r) => closed.close(() => r()));
    const dir = tempDir('dl-down');
    const err = await downloadCIFAR10({ url, dir, progressBar: false }).catch((e: Error) => e);
    expect(String(err)).toMatch(/^Error: could not reach http:\/\/127.0.0.1:\d+\/cifar-10-binary.tar.gz: connect ECONNREFUSED 127.0.0.1:\d+\. /);
    expect(String(err)).toContain('. Put the CIFAR-10 files in data/cifar-10-batches-bin or set CIFAR10_DIR');
    await expect(downloadCIFAR10({ url: `${base}/nope.tar.gz`, dir, progressBar: false })).rejects.toThrow(
      `could not download ${base}/nope.tar.gz: HTTP 404`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is the last step of the lookup: $CIFAR10_URL, download, extract, read', async () => {
    const cache = tempDir('dl-lookup');
    vi.stubEnv('CIFAR10_DIR', '');
    vi.stubEnv('CIFAR10_URL', `${base}/slow/cifar-10-binary.tar.gz`);
    const logs: string[] = [];
    const u8 = await getCIFAR10Uint8({ cacheDir: cache, md5, progressBar: false, numTraining: 3000, log: (m) => logs.push(m) });
    expect(u8.val.count).toBe(1000);
    expect(existsSync(join(cache, 'cifar-10-batches-bin', 'test_batch.bin'))).toBe(true);
    expect(logs[0]).toMatch(/found neither .* nor .*cifar-10-binary.tar.gz; downloading/);
    expect(logs[1]).toBe(`CIFAR-10: downloaded ${join(cache, 'cifar-10-binary.tar.gz')} and extracted it to ${join(cache, 'cifar-10-batches-bin')}`);
  });

  it('draws the progress bar on stderr (one line per 10% when stderr is not a terminal)', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { written.push(String(chunk)); return true; });
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = false;
    try {
      await downloadCIFAR10({ url: `${base}/slow/cifar-10-binary.tar.gz`, dir: tempDir('dl-bar'), md5 });
    } finally {
      spy.mockRestore();
      process.stderr.isTTY = tty;
    }
    const lines = written.join('').trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.at(-1)).toMatch(/^cifar-10-binary.tar.gz \d+\.\d MB \/ \d+\.\d MB  100% \[#{20}\]  [\d.]+ [kMG]?B\/s  ETA 0s$/);
  });

  it('formats the progress bar: bytes, percentage, rate, ETA', () => {
    expect(formatProgress({ received: 81e6, total: 162e6, rate: 5e6 })).toBe(
      ' 81.0 MB / 162.0 MB   50% [##########----------]  5.0 MB/s  ETA 17s',
    );
    expect(formatProgress({ received: 1500, total: undefined, rate: 500 })).toBe(' 1.5 kB  500 B/s');
  });
});
