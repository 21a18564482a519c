// The CIFAR-10 binary record parser: pure functions over bytes, the same in the browser and in Node.
//
// Format (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"): a batch file is a plain
// sequence of 3073-byte records and nothing else, so its record count is size / 3073.
//
//   byte 0          label, 0..9 (an index into batches.meta.txt)
//   bytes 1..1024   red plane,   32x32, row-major (row 0 first, left to right)
//   bytes 1025..2048 green plane, same order
//   bytes 2049..3072 blue plane,  same order
//
// The 3072 pixel bytes are therefore already in the 3 x 32 x 32 (channel, row, column) layout.
// batches.meta.txt holds the 10 class names, one a line.

/** Bytes of one image: 3 planes of 32 x 32. */
export const IMAGE_BYTES = 3072;
/** Bytes of one record: the label byte, then the image. */
export const RECORD_BYTES = 1 + IMAGE_BYTES;
/** Number of classes; a label outside 0..NUM_CLASSES-1 is an error. */
export const NUM_CLASSES = 10;
/** The official training batch files, in order. */
export const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
/** The official test batch file. */
export const TEST_FILE = 'test_batch.bin';
/** The class-name file. */
export const META_FILE = 'batches.meta.txt';
/** Every file of `cifar-10-batches-bin/` the loaders read. */
export const CIFAR10_FILES: readonly string[] = [...TRAIN_FILES, TEST_FILE, META_FILE];

/** One parsed batch file: `count` labels and `count` images of IMAGE_BYTES each, planar RGB. */
export interface CIFAR10Batch {
  name: string;
  count: number;
  labels: Uint8Array;
  images: Uint8Array;
}

/** Everything the split logic needs: training batches in order, the test batch, class names. */
export interface CIFAR10Batches {
  train: CIFAR10Batch[];
  test: CIFAR10Batch;
  classNames: string[];
}

/** Where a batch parser writes: `count` labels and `count * IMAGE_BYTES` pixels (views into a larger buffer are fine). */
export interface BatchTarget {
  labels: Uint8Array;
  images: Uint8Array;
}

/** A batch file parsed as its bytes arrive: `push` chunks in order, then `finish`. */
export interface BatchParser {
  readonly name: string;
  readonly count: number;
  push(chunk: Uint8Array): void;
  finish(): CIFAR10Batch;
}

/**
 * Parses one batch file of `size` bytes as it streams in, writing labels and pixels straight into `target`
 * (allocated when absent), so no copy of the raw file is kept; errors name the file and the cause.
 *   const p = createBatchParser('data_batch_1.bin', 30730000);
 *   for await (const chunk of stream) p.push(chunk); const batch = p.finish();
 */
export function createBatchParser(name: string, size: number, target?: BatchTarget): BatchParser {
  if (!Number.isInteger(size) || size < 0 || size % RECORD_BYTES !== 0) {
    throw new Error(`${name}: size ${size} is not a multiple of ${RECORD_BYTES} (record = 1 label + ${IMAGE_BYTES} pixels)`);
  }
  const count = size / RECORD_BYTES;
  const labels = target?.labels ?? new Uint8Array(count);
  const images = target?.images ?? new Uint8Array(count * IMAGE_BYTES);
  if (labels.length !== count || images.length !== count * IMAGE_BYTES) {
    throw new Error(`${name}: target holds ${labels.length} labels and ${images.length} pixel bytes, the file has ${count} records`);
  }
  let pos = 0; // bytes of the file consumed
  return {
    name,
    count,
    push(chunk) {
      if (pos + chunk.length > size) throw new Error(`${name}: more than the expected ${size} bytes`);
      for (let i = 0; i < chunk.length;) {
        const r = Math.floor(pos / RECORD_BYTES);
        const o = pos - r * RECORD_BYTES;
        if (o === 0) {
          const label = chunk[i]!;
          if (label >= NUM_CLASSES) throw new Error(`${name}: record ${r} has label ${label}, expected 0..${NUM_CLASSES - 1}`);
          labels[r] = label;
          i++; pos++;
          continue;
        }
        const n = Math.min(RECORD_BYTES - o, chunk.length - i);
        images.set(chunk.subarray(i, i + n), r * IMAGE_BYTES + o - 1);
        i += n; pos += n;
      }
    },
    finish() {
      if (pos !== size) throw new Error(`${name}: truncated: ${pos} of ${size} bytes`);
      return { name, count, labels, images };
    },
  };
}

/**
 * Parses one batch file into labels and planar images; errors name the file and the cause.
 *   const b = parseCIFAR10Batch(readFileSync('data_batch_1.bin'), 'data_batch_1.bin');
 *   b.count === 10000; b.images.length === 10000 * 3072;
 */
export function parseCIFAR10Batch(bytes: Uint8Array, name: string, target?: BatchTarget): CIFAR10Batch {
  const parser = createBatchParser(name, bytes.length, target);
  parser.push(bytes);
  return parser.finish();
}

/**
 * Targets for training batch files of the given sizes in one contiguous buffer (file k right after file k - 1),
 * so the seed's splits can be views of it instead of copies (see makeCIFAR10Uint8).
 *   const [t1, t2] = contiguousTargets([30730000, 30730000]);
 *   t2.images.byteOffset === t1.images.byteLength;
 */
export function contiguousTargets(sizes: readonly number[]): BatchTarget[] {
  const counts = sizes.map((s) => Math.floor(s / RECORD_BYTES));
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Uint8Array(total);
  let at = 0;
  return counts.map((c) => {
    const t = { labels: labels.subarray(at, at + c), images: images.subarray(at * IMAGE_BYTES, (at + c) * IMAGE_BYTES) };
    at += c;
    return t;
  });
}

/**
 * The training batches moved into one contiguous buffer of their size, in order (returned as they are when they
 * already fill one).
 * It consumes `train`: the array is emptied batch by batch as each is copied, so the peak is the new buffer plus
 * one batch, not two copies of the training set.
 *   batches.train = makeContiguous(batches.train);
 *   areContiguous(batches.train); // true
 */
export function makeContiguous(train: CIFAR10Batch[]): CIFAR10Batch[] {
  const first = train[0];
  const bytes = train.reduce((n, b) => n + b.images.byteLength, 0);
  // already one buffer holding exactly these batches: nothing to move
  if (!first || (areContiguous(train) && first.images.byteOffset === 0 && first.images.buffer.byteLength === bytes)) return train;
  const targets = contiguousTargets(train.map((b) => b.count * RECORD_BYTES));
  const out: CIFAR10Batch[] = [];
  for (const t of targets) {
    const b = train.shift()!;
    t.labels.set(b.labels);
    t.images.set(b.images);
    out.push({ name: b.name, count: b.count, ...t });
  }
  return out;
}

/**
 * Whether the batches' images (and labels) follow each other in one buffer, in order.
 *   areContiguous(parseCIFAR10Files(get, 'x').train); // true when parsed into contiguousTargets
 */
export function areContiguous(batches: readonly { images: Uint8Array; labels: Uint8Array }[]): boolean {
  for (let k = 1; k < batches.length; k++) {
    const a = batches[k - 1]!;
    const b = batches[k]!;
    if (b.images.buffer !== a.images.buffer || b.images.byteOffset !== a.images.byteOffset + a.images.byteLength) return false;
    if (b.labels.buffer !== a.labels.buffer || b.labels.byteOffset !== a.labels.byteOffset + a.labels.byteLength) return false;
  }
  return true;
}

/**
 * Reads the class names of batches.meta.txt (one a line, blank lines ignored); needs NUM_CLASSES.
 *   parseClassNames('airplane\nautomobile\n...\ntruck\n\n');
 *   // ['airplane', 'automobile', ..., 'truck']
 */
export function parseClassNames(text: string, name: string = META_FILE): string[] {
  const names = text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== NUM_CLASSES) throw new Error(`${name}: has ${names.length} class names, expected ${NUM_CLASSES} (one a line)`);
  return names;
}

/**
 * Counts the labels of a batch per class.
 *   labelHistogram(parseCIFAR10Batch(bytes, 'test_batch.bin').labels);
 *   // [103, 89, 100, ...] (NUM_CLASSES counts)
 */
export function labelHistogram(labels: Uint8Array): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

/**
 * Parses a set of files looked up by name: data_batch_1.bin, then data_batch_2.bin ... while they
 * exist and until `needTrain` training records are in hand, test_batch.bin and batches.meta.txt.
 * `where` says where the files came from in the missing-file error. The training batches share one buffer.
 *   const b = parseCIFAR10Files((n) => files.get(n), 'the dropped files');
 *   b.train[0].name === 'data_batch_1.bin';
 */
export function parseCIFAR10Files(
  get: (name: string) => Uint8Array | undefined,
  where: string,
  needTrain: number = Infinity,
): CIFAR10Batches {
  const need = (name: string): Uint8Array => {
    const bytes = get(name);
    if (!bytes) throw new Error(`${name}: not found in ${where}`);
    return bytes;
  };
  // which training files to read (data_batch_1 always, then while they exist and needTrain is not reached)
  const files: [string, Uint8Array][] = [[TRAIN_FILES[0], need(TRAIN_FILES[0])]];
  let records = files[0]![1].length / RECORD_BYTES;
  for (const name of TRAIN_FILES.slice(1)) {
    if (records >= needTrain) break;
    const bytes = get(name);
    if (!bytes) break;
    files.push([name, bytes]);
    records += bytes.length / RECORD_BYTES;
  }
  // parsed into one buffer when every size is whole records (else parseCIFAR10Batch names the bad file)
  const whole = files.every(([, bytes]) => bytes.length % RECORD_BYTES === 0);
  const targets = whole ? contiguousTargets(files.map(([, bytes]) => bytes.length)) : [];
  const train = files.map(([name, bytes], k) => parseCIFAR10Batch(bytes, name, targets[k]));
  const test = parseCIFAR10Batch(need(TEST_FILE), TEST_FILE);
  return { train, test, classNames: parseClassNames(new TextDecoder().decode(need(META_FILE))) };
}
