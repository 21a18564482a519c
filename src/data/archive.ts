// Reads the official cifar-10-binary.tar.gz in the browser and in Node: gzip by the platform's DecompressionStream, tar by hand.
//
// A tar file is a sequence of 512-byte headers, each followed by its data padded to 512 bytes, ended
// by zero blocks (POSIX ustar; GNU tar writes the same layout). Header fields used here, all ASCII:
//   0..100 name   124..136 size (octal; GNU base-256 when the top bit is set)   148..156 checksum
//   156 type ('0' or NUL file, 'L' GNU long name, 'x' pax header)   257..263 magic "ustar"   345..500 prefix
import { CIFAR10_FILES } from './cifar10.ts';

/** What the archive readers take: bytes, a File/Blob, or a stream (e.g. a fetch body). */
export type ArchiveInput = Uint8Array | Blob | ReadableStream<Uint8Array>;

function toStream(input: ArchiveInput): ReadableStream<Uint8Array> {
  if (input instanceof ReadableStream) return input;
  if (input instanceof Uint8Array) return new Blob([input as Uint8Array<ArrayBuffer>]).stream();
  return input.stream();
}

/**
 * Decompresses a gzip stream with the platform's DecompressionStream (Node >= 18, browsers).
 *   const tar = await gunzip(await file.arrayBuffer().then((b) => new Uint8Array(b)));
 *   tar.length; // the uncompressed size
 */
export async function gunzip(input: ArchiveInput, name = 'archive'): Promise<Uint8Array> {
  try {
    const out = (toStream(input) as ReadableStream<BufferSource>).pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(out).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: not a readable gzip file (${(e as Error).message})`, { cause: e });
  }
}

function text(h: Uint8Array, start: number, length: number): string {
  const field = h.subarray(start, start + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

function number(h: Uint8Array, start: number, length: number): number {
  if (h[start] & 0x80) {
    let v = h[start] & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + h[start + i];
    return v;
  }
  const s = text(h, start, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === number(h, 148, 8);
}

function paxPath(data: Uint8Array): string | undefined {
  // records: "<len> key=value\n"
  for (const line of new TextDecoder().decode(data).split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Lists the regular files of an uncompressed tar as path -> bytes (views into `bytes`, no copy).
 *   const files = readTar(await gunzip(archiveBytes));
 *   files.get('cifar-10-batches-bin/test_batch.bin')?.length; // 30730000
 */
export function readTar(bytes: Uint8Array, name = 'archive'): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let longName: string | undefined;
  for (let at = 0; at + 512 <= bytes.length;) {
    const h = bytes.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    if (!checksumOk(h)) throw new Error(`${name}: bad tar header checksum at byte ${at} (not a tar archive, or corrupt)`);
    const size = number(h, 124, 12);
    const type = String.fromCharCode(h[156]);
    const prefix = text(h, 257, 5) === 'ustar' ? text(h, 345, 155) : '';
    const path = longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const start = at + 512;
    if (start + size > bytes.length) {
      throw new Error(`${name}: truncated: entry ${path} needs ${size} bytes, ${bytes.length - start} left`);
    }
    const data = bytes.subarray(start, start + size);
    longName = undefined;
    if (type === 'L') longName = text(data, 0, data.length);
    else if (type === 'x') longName = paxPath(data);
    else if (type === '0' || type === '\0') files.set(path, data);
    at = start + Math.ceil(size / 512) * 512;
  }
  return files;
}

/**
 * Reads cifar-10-binary.tar.gz into file name -> bytes for the CIFAR-10 files it holds
 * (data_batch_*.bin, test_batch.bin, batches.meta.txt, from cifar-10-batches-bin/).
 *   const files = await readCIFAR10Archive(droppedFile);
 *   const batches = parseCIFAR10Files((n) => files.get(n), droppedFile.name);
 */
export async function readCIFAR10Archive(input: ArchiveInput, name = 'cifar-10-binary.tar.gz'): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [path, data] of readTar(await gunzip(input, name), name)) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (CIFAR10_FILES.includes(base) && !out.has(base)) out.set(base, data);
  }
  if (out.size === 0) throw new Error(`${name}: holds no CIFAR-10 file (expected cifar-10-batches-bin/${CIFAR10_FILES.join(', ')})`);
  return out;
}
