// The tar.gz reader against archives made by the system's tar, and the archive step of the Node lookup.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { readCIFAR10Archive, readTar } from '../../src/data/archive.ts';
import { getCIFAR10Uint8 } from '../../src/data/get-cifar10-data.ts';
import { makeSampleArchive, sampleDir, tempDir } from './sample.ts';

const names = ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt'];

describe('readCIFAR10Archive', () => {
  for (const format of ['gnu', 'ustar', 'pax'] as const) {
    it(`reads back a ${format} tar.gz made from the sample, byte for byte`, async () => {
      const files = await readCIFAR10Archive(readFileSync(makeSampleArchive(format)));
      expect([...files.keys()].sort()).toEqual([...names].sort());
      for (const n of names) expect(Buffer.from(files.get(n)!).equals(readFileSync(join(sampleDir, n)))).toBe(true);
    });
  }

  it('follows long names (ustar prefix, GNU long-name entries)', () => {
    const dir = tempDir('long');
    const deep = join('a'.repeat(60), 'b'.repeat(60), 'c'.repeat(40));
    mkdirSync(join(dir, deep), { recursive: true });
    writeFileSync(join(dir, deep, 'f.txt'), 'hello');
    for (const format of ['ustar', 'gnu']) {
      const tar = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', dir, deep]);
      const files = readTar(new Uint8Array(tar));
      expect(new TextDecoder().decode(files.get(`${deep}/f.txt`))).toBe('hello');
    }
  });

  it('rejects what is not a gzip or not a tar', async () => {
    await expect(readCIFAR10Archive(new Uint8Array(1000).fill(7), 'x.tar.gz')).rejects.toThrow('x.tar.gz: not a readable gzip file');
    await expect(readCIFAR10Archive(gzipSync(new Uint8Array(2048).fill(65)), 'y.tar.gz')).rejects.toThrow(
      'y.tar.gz: bad tar header checksum at byte 0',
    );
    const tar = readFileSync(makeSampleArchive('gnu'));
    await expect(readCIFAR10Archive(tar.subarray(0, tar.length >> 1), 'z.tar.gz')).rejects.toThrow('z.tar.gz:');
  });
});

describe('the Node lookup with a cached archive', () => {
  it('extracts data/cifar-10-binary.tar.gz once, then reads the folder', async () => {
    vi.stubEnv('CIFAR10_DIR', ''); // CI sets it; the cached archive is what this test is about
    const cache = tempDir('cache');
    cpSync(makeSampleArchive('gnu'), join(cache, 'cifar-10-binary.tar.gz'));
    const logs: string[] = [];
    const u8 = await getCIFAR10Uint8({ cacheDir: cache, numTraining: 3000, log: (m) => logs.push(m) });
    expect(u8.train.count).toBe(3000);
    expect(readdirSync(join(cache, 'cifar-10-batches-bin')).sort()).toEqual([...names].sort());
    expect(existsSync(join(cache, 'cifar-10-batches-bin.partial'))).toBe(false);
    await getCIFAR10Uint8({ cacheDir: cache, numTraining: 10, log: (m) => logs.push(m) });
    const dir = join(cache, 'cifar-10-batches-bin');
    expect(logs).toEqual([`CIFAR-10: extracted ${join(cache, 'cifar-10-binary.tar.gz')} to ${dir}`, `CIFAR-10: reading ${dir}`]);
    vi.unstubAllEnvs();
  });
});

describe('the streaming tar reader', () => {
  it('gives the same files whatever the chunking (headers and padding split across pushes), and names a cut inside a header', async () => {
    const { cifar10FilesFromTar, gunzip } = await import('../../src/data/archive.ts');
    for (const format of ['gnu', 'pax'] as const) {
      const tar = await gunzip(readFileSync(makeSampleArchive(format)));
      for (const size of [511, 513, 4093]) {
        const r = cifar10FilesFromTar(`${format}.tar`);
        for (let at = 0; at < tar.length; at += size) r.push(tar.subarray(at, at + size));
        r.end();
        const files = r.result();
        for (const n of names) expect(Buffer.from(files.get(n)!).equals(readFileSync(join(sampleDir, n))), `${format} ${size} ${n}`).toBe(true);
      }
      const cut = cifar10FilesFromTar('cut.tar');
      cut.push(tar.subarray(0, 700)); // one header and part of the next entry's data, or of a header
      expect(() => cut.end()).toThrow(/^cut\.tar: truncated/);
    }
  });
});
