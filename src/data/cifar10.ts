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

/**
 * Parses one batch file into labels and planar images; errors name the file and the cause.
 *   const b = parseCIFAR10Batch(readFileSync('data_batch_1.bin'), 'data_batch_1.bin');
 *   b.count === 10000; b.images.length === 10000 * 3072;
 */
export function parseCIFAR10Batch(bytes: Uint8Array, name: string): CIFAR10Batch {
  if (bytes.length % RECORD_BYTES !== 0) {
    throw new Error(`${name}: size ${bytes.length} is not a multiple of ${RECORD_BYTES} (record = 1 label + ${IMAGE_BYTES} pixels)`);
  }
  const count = bytes.length / RECORD_BYTES;
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < count; i++) {
    const at = i * RECORD_BYTES;
    const label = bytes[at];
    if (label >= NUM_CLASSES) throw new Error(`${name}: record ${i} has label ${label}, expected 0..${NUM_CLASSES - 1}`);
    labels[i] = label;
    images.set(bytes.subarray(at + 1, at + RECORD_BYTES), i * IMAGE_BYTES);
  }
  return { name, count, labels, images };
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
 * `where` says where the files came from in the missing-file error.
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
  const train = [parseCIFAR10Batch(need(TRAIN_FILES[0]), TRAIN_FILES[0])];
  for (const name of TRAIN_FILES.slice(1)) {
    if (train.reduce((s, b) => s + b.count, 0) >= needTrain) break;
    const bytes = get(name);
    if (!bytes) break;
    train.push(parseCIFAR10Batch(bytes, name));
  }
  const test = parseCIFAR10Batch(need(TEST_FILE), TEST_FILE);
  return { train, test, classNames: parseClassNames(new TextDecoder().decode(need(META_FILE))) };
}
