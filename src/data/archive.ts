// Reads the official cifar-10-binary.tar.gz in the browser and in Node, streaming: gzip by the platform's DecompressionStream, tar by hand.
//
// A tar file is a sequence of 512-byte headers, each followed by its data padded to 512 bytes, ended
// by zero blocks (POSIX ustar; GNU tar writes the same layout). Header fields used here, all ASCII:
//   0..100 name   124..136 size (octal; GNU base-256 when the top bit is set)   148..156 checksum
//   156 type ('0' or NUL file, 'L' GNU long name, 'x' pax header)   257..263 magic "ustar"   345..500 prefix
// The reader is a push machine over chunks, so an archive is never held whole: each file's bytes go to a
// sink as they are decompressed (the CIFAR-10 parser writes them straight into the batch arrays).
import { CIFAR10_FILES, IMAGE_BYTES, META_FILE, RECORD_BYTES, TEST_FILE, TRAIN_FILES, createBatchParser, makeContiguous, parseClassNames } from './cifar10.ts';
import type { BatchParser, BatchTarget, CIFAR10Batch, CIFAR10Batches } from './cifar10.ts';

/** What the archive readers take: bytes, a File/Blob, or a stream (e.g. a fetch body). */
export type ArchiveInput = Uint8Array | Blob | ReadableStream<Uint8Array>;

/** Receives one tar entry's bytes in order (chunks are views into the reader's input: copy what you keep). */
export interface TarSink {
  push(chunk: Uint8Array): void;
  end(): void;
}

function toStream(input: ArchiveInput): ReadableStream<Uint8Array> {
  if (input instanceof ReadableStream) return input;
  if (input instanceof Uint8Array) return new Blob([input as Uint8Array<ArrayBuffer>]).stream();
  return input.stream();
}

function gunzipStream(input: ArchiveInput): ReadableStream<Uint8Array> {
  return (toStream(input) as ReadableStream<BufferSource>).pipeThrough(new DecompressionStream('gzip')) as ReadableStream<Uint8Array>;
}

/**
 * Decompresses a gzip stream with the platform's DecompressionStream (Node >= 18, browsers).
 *   const tar = await gunzip(await file.arrayBuffer().then((b) => new Uint8Array(b)));
 *   tar.length; // the uncompressed size
 */
export async function gunzip(input: ArchiveInput, name = 'archive'): Promise<Uint8Array> {
  try {
    return new Uint8Array(await new Response(gunzipStream(input)).arrayBuffer());
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
  if (h[start]! & 0x80) {
    let v = h[start]! & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + h[start + i]!;
    return v;
  }
  const s = text(h, start, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
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

/** Collects an entry's chunks; one chunk stays a view (no copy). */
function collector(done: (bytes: Uint8Array) => void): TarSink {
  const parts: Uint8Array[] = [];
  return {
    push: (c) => { parts.push(c); },
    end() {
      if (parts.length === 1) return done(parts[0]!);
      const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts) { out.set(p, at); at += p.length; }
      done(out);
    },
  };
}

/**
 * A tar reader fed chunk by chunk: `onFile(path, size)` returns a sink for a regular file's bytes, or undefined
 * to skip it; `end()` checks the archive was not cut inside an entry.
 *   const tar = createTarReader('x.tar', (path, size) => (path.endsWith('.bin') ? mySink : undefined));
 *   tar.push(chunk1); tar.push(chunk2); tar.end();
 */
export function createTarReader(name: string, onFile: (path: string, size: number) => TarSink | undefined): { push(chunk: Uint8Array): void; end(): void } {
  const header = new Uint8Array(512);
  let have = 0; // bytes of the current header
  let offset = 0; // bytes of the archive consumed, for error messages
  let entry: { path: string; size: number; left: number; pad: number; sink: TarSink | undefined } | null = null;
  let longName: string | undefined;
  let finished = false;

  const startEntry = (): void => {
    if (header.every((b) => b === 0)) { finished = true; return; }
    if (!checksumOk(header)) throw new Error(`${name}: bad tar header checksum at byte ${offset - 512} (not a tar archive, or corrupt)`);
    const size = number(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const prefix = text(header, 257, 5) === 'ustar' ? text(header, 345, 155) : '';
    const path = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    let sink: TarSink | undefined;
    if (type === 'L') sink = collector((d) => { longName = text(d, 0, d.length); });
    else if (type === 'x') sink = collector((d) => { longName = paxPath(d); });
    else if (type === '0' || type === '\0') sink = onFile(path, size);
    entry = { path, size, left: size, pad: (512 - (size % 512)) % 512, sink };
    if (size === 0) { sink?.end(); entry = null; }
  };

  return {
    push(chunk) {
      for (let i = 0; i < chunk.length && !finished;) {
        if (entry) {
          if (entry.left > 0) {
            const n = Math.min(entry.left, chunk.length - i);
            entry.sink?.push(chunk.subarray(i, i + n));
            entry.left -= n; i += n; offset += n;
            if (entry.left === 0) entry.sink?.end();
          } else {
            const n = Math.min(entry.pad, chunk.length - i);
            entry.pad -= n; i += n; offset += n;
          }
          if (entry.left === 0 && entry.pad === 0) entry = null;
          continue;
        }
        const n = Math.min(512 - have, chunk.length - i);
        header.set(chunk.subarray(i, i + n), have);
        have += n; i += n; offset += n;
        if (have === 512) { have = 0; startEntry(); }
      }
    },
    end() {
      const e = entry as { path: string; size: number; left: number } | null;
      if (e && e.left > 0) throw new Error(`${name}: truncated: entry ${e.path} needs ${e.size} bytes, ${e.size - e.left} left`);
      if (!finished && (have > 0 || e)) throw new Error(`${name}: truncated: the archive ends inside a tar ${e ? 'entry\'s padding' : 'header'} at byte ${offset}`);
    },
  };
}

/** Feeds a stream to a push machine; errors of the stream itself (not the machine) are gzip errors. */
async function pump(stream: ReadableStream<Uint8Array>, name: string, machine: { push(c: Uint8Array): void; end(): void }): Promise<void> {
  const reader = stream.getReader();
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      throw new Error(`${name}: not a readable gzip file (${(e as Error).message})`, { cause: e });
    }
    if (r.done) break;
    try {
      machine.push(r.value);
    } catch (e) {
      await reader.cancel().catch(() => {});
      throw e;
    }
  }
  machine.end();
}

/**
 * Lists the regular files of an uncompressed tar as path -> bytes (views into `bytes`, no copy).
 *   const files = readTar(await gunzip(archiveBytes));
 *   files.get('cifar-10-batches-bin/test_batch.bin')?.length; // 30730000
 */
export function readTar(bytes: Uint8Array, name = 'archive'): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const tar = createTarReader(name, (path) => collector((d) => files.set(path, d)));
  tar.push(bytes);
  tar.end();
  return files;
}

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** A push machine over the decompressed tar: `push` chunks, `end`, then `result()`. */
export interface TarConsumer<T> {
  push(chunk: Uint8Array): void;
  end(): void;
  result(): T;
}

/**
 * The CIFAR-10 files of a tar (data_batch_*.bin, test_batch.bin, batches.meta.txt, from cifar-10-batches-bin/)
 * as file name -> bytes, fed chunk by chunk (Node feeds it from zlib, see locate.ts).
 *   const r = cifar10FilesFromTar('x.tar'); r.push(tarChunk); r.end();
 *   r.result().get('test_batch.bin');
 */
export function cifar10FilesFromTar(name: string): TarConsumer<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const tar = createTarReader(name, (path) => {
    const base = baseName(path);
    if (!CIFAR10_FILES.includes(base) || out.has(base)) return undefined;
    return collector((d) => out.set(base, d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? d : d.slice()));
  });
  return {
    push: (c) => tar.push(c),
    end: () => tar.end(),
    result() {
      if (out.size === 0) throw new Error(`${name}: holds no CIFAR-10 file (expected cifar-10-batches-bin/${CIFAR10_FILES.join(', ')})`);
      return out;
    },
  };
}

/**
 * Reads cifar-10-binary.tar.gz into file name -> bytes for the CIFAR-10 files it holds, streaming.
 *   const files = await readCIFAR10Archive(droppedFile);
 *   const batches = parseCIFAR10Files((n) => files.get(n), droppedFile.name);
 */
export async function readCIFAR10Archive(input: ArchiveInput, name = 'cifar-10-binary.tar.gz'): Promise<Map<string, Uint8Array>> {
  const r = cifar10FilesFromTar(name);
  await pump(gunzipStream(input), name, r);
  return r.result();
}

/**
 * Parses cifar-10-binary.tar.gz straight into batches as it decompresses: neither the archive nor the tar is
 * ever held whole, only the parsed batches. The training files go straight into one buffer: the first one met
 * sets the slot size (the official files are equal), data_batch_k lands in slot k; a set of other sizes or
 * with gaps is moved into one buffer at the end (see makeContiguous).
 *   const batches = await readCIFAR10ArchiveBatches(droppedFile.stream(), droppedFile.name);
 *   batches.train.length; // 5 for the official archive
 */
export async function readCIFAR10ArchiveBatches(input: ArchiveInput, name = 'cifar-10-binary.tar.gz'): Promise<CIFAR10Batches> {
  const r = cifar10BatchesFromTar(name);
  await pump(gunzipStream(input), name, r);
  return r.result();
}

/**
 * The tar's CIFAR-10 files parsed into batches as its chunks are pushed (see readCIFAR10ArchiveBatches).
 *   const r = cifar10BatchesFromTar('x.tar'); for (const c of tarChunks) r.push(c); r.end();
 *   r.result().train.length;
 */
export function cifar10BatchesFromTar(name: string): TarConsumer<CIFAR10Batches> {
  const parsed = new Map<string, CIFAR10Batch>();
  let meta: string | undefined;
  let slots: { records: number; images: Uint8Array; labels: Uint8Array } | undefined;
  const target = (base: string, size: number): BatchTarget | undefined => {
    const k = (TRAIN_FILES as readonly string[]).indexOf(base);
    if (k < 0 || size % RECORD_BYTES !== 0) return undefined;
    const records = size / RECORD_BYTES;
    slots ??= { records, images: new Uint8Array(TRAIN_FILES.length * records * IMAGE_BYTES), labels: new Uint8Array(TRAIN_FILES.length * records) };
    if (records !== slots.records) return undefined;
    return { images: slots.images.subarray(k * records * IMAGE_BYTES, (k + 1) * records * IMAGE_BYTES), labels: slots.labels.subarray(k * records, (k + 1) * records) };
  };
  const tar = createTarReader(name, (path, size) => {
    const base = baseName(path);
    if (base === META_FILE) return collector((d) => { meta = new TextDecoder().decode(d); });
    if (!CIFAR10_FILES.includes(base) || parsed.has(base)) return undefined;
    const parser: BatchParser = createBatchParser(`${name}: ${base}`, size, target(base, size));
    return { push: (c) => parser.push(c), end: () => { parsed.set(base, { ...parser.finish(), name: base }); } };
  });
  return { push: (c) => tar.push(c), end: () => tar.end(), result: () => assemble() };
  function assemble(): CIFAR10Batches {
    const missing = [TRAIN_FILES[0], TEST_FILE, META_FILE].filter((f) => (f === META_FILE ? meta === undefined : !parsed.has(f)));
    if (missing.length) throw new Error(`${name}: ${missing.join(', ')} not found in the archive (expected cifar-10-batches-bin/${CIFAR10_FILES.join(', ')})`);
    const train: CIFAR10Batch[] = [];
    for (const f of TRAIN_FILES) {
      const b = parsed.get(f);
      if (!b) break;
      train.push(b);
      parsed.delete(f);
    }
    // all five slots filled in order are already one buffer; fewer files or other sizes get one right-sized copy
    slots = undefined;
    return { train: makeContiguous(train), test: parsed.get(TEST_FILE)!, classNames: parseClassNames(meta!, `${name}: ${META_FILE}`) };
  }
}
