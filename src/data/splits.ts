// The cs231n get_CIFAR10_data split and mean-image logic, pure over already-parsed batches (browser and Node).
import { IMAGE_BYTES, areContiguous } from './cifar10.ts';
import type { CIFAR10Batch, CIFAR10Batches } from './cifar10.ts';

/** How many images each split takes; defaults are the seed's 49000 / 1000 / 1000. */
export interface SplitOptions {
  numTraining?: number;
  numValidation?: number;
  numTest?: number;
}

/** `count` images (IMAGE_BYTES each, planar RGB, i.e. count x 3 x 32 x 32) and their labels. */
export interface LabeledImages {
  count: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** The splits as packed uint8, for the GPU upload; meanImage is the training split's per-pixel mean. */
export interface CIFAR10Uint8 {
  train: LabeledImages;
  val: LabeledImages;
  test: LabeledImages;
  meanImage: Float32Array;
  classNames: string[];
}

/** A dense float32 N x 3 x 32 x 32 array. */
export interface ImageTensor {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** The seed's `data` dict: X* are N x 3 x 32 x 32 float32, y* the labels. */
export interface CIFAR10Data {
  XTrain: ImageTensor;
  yTrain: Uint8Array;
  XVal: ImageTensor;
  yVal: Uint8Array;
  XTest: ImageTensor;
  yTest: Uint8Array;
  classNames: string[];
  meanImage: Float32Array;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * Records [start, start + count) of the concatenated batches: a view when the batches holding them share one
 * buffer in order (what the loaders produce), else a copy.
 */
function takeRange(batches: CIFAR10Batch[], start: number, count: number): LabeledImages {
  const spans: { b: CIFAR10Batch; from: number; n: number }[] = [];
  let skip = start;
  let left = count;
  for (const b of batches) {
    if (left === 0) break;
    if (skip >= b.count) { skip -= b.count; continue; }
    const n = Math.min(b.count - skip, left);
    spans.push({ b, from: skip, n });
    left -= n;
    skip = 0;
  }
  if (spans.length > 0 && areContiguous(spans.map((s) => s.b))) {
    const first = spans[0]!;
    const images = new Uint8Array(first.b.images.buffer, first.b.images.byteOffset + first.from * IMAGE_BYTES, count * IMAGE_BYTES);
    const labels = new Uint8Array(first.b.labels.buffer, first.b.labels.byteOffset + first.from, count);
    return { count, images, labels };
  }
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let filled = 0;
  for (const { b, from, n } of spans) {
    labels.set(b.labels.subarray(from, from + n), filled);
    images.set(b.images.subarray(from * IMAGE_BYTES, (from + n) * IMAGE_BYTES), filled * IMAGE_BYTES);
    filled += n;
  }
  return { count, images, labels };
}

/**
 * The per-pixel mean of `count` uint8 images, summed exactly in float64, rounded once to float32.
 *   const mean = computeMeanImage(train.images, train.count);
 *   mean.length === 3072;
 */
export function computeMeanImage(images: Uint8Array, count: number): Float32Array {
  const sum = new Float64Array(IMAGE_BYTES);
  const D = IMAGE_BYTES;
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    // four rows per pass: a quarter of the accumulator traffic (2x faster in V8); integer sums, exact
    const a = images.subarray(i * D, (i + 4) * D);
    for (let j = 0; j < D; j++) sum[j] += a[j] + a[D + j] + a[2 * D + j] + a[3 * D + j];
  }
  for (; i < count; i++) {
    const a = images.subarray(i * D, (i + 1) * D);
    for (let j = 0; j < D; j++) sum[j] += a[j];
  }
  const mean = new Float32Array(IMAGE_BYTES);
  for (let j = 0; j < IMAGE_BYTES; j++) mean[j] = sum[j] / count;
  return mean;
}

/**
 * Splits parsed batches like cs231n get_CIFAR10_data: train = records [0, numTraining) of the
 * concatenated training batches, val = [numTraining, numTraining + numValidation), test = the first
 * numTest of the test batch; meanImage is the training split's mean. Asking for more than the
 * batches hold is an error that says how many they hold. The splits are views of the batches' buffer where
 * the batches are contiguous (parseCIFAR10Files, the browser loader), so no second copy of the pixels is made.
 *   const u8 = makeCIFAR10Uint8(batches, { numTraining: 3000, numValidation: 1000, numTest: 1000 });
 *   u8.train.images.length === 3000 * 3072;
 */
export function makeCIFAR10Uint8(batches: CIFAR10Batches, opts: SplitOptions = {}): CIFAR10Uint8 {
  const numTraining = checkCount('numTraining', opts.numTraining ?? 49000, 1);
  const numValidation = checkCount('numValidation', opts.numValidation ?? 1000, 0);
  const numTest = checkCount('numTest', opts.numTest ?? 1000, 0);
  const held = batches.train.reduce((s, b) => s + b.count, 0);
  if (numTraining + numValidation > held) {
    const each = batches.train.map((b) => `${b.name}: ${b.count}`).join(', ') || 'no training batch';
    throw new Error(
      `asked for ${numTraining} training + ${numValidation} validation images, but the training batches hold ${held} (${each})`,
    );
  }
  if (numTest > batches.test.count) {
    throw new Error(`asked for ${numTest} test images, but ${batches.test.name} holds ${batches.test.count}`);
  }
  const train = takeRange(batches.train, 0, numTraining);
  return {
    train,
    val: takeRange(batches.train, numTraining, numValidation),
    test: takeRange([batches.test], 0, numTest),
    meanImage: computeMeanImage(train.images, train.count),
    classNames: batches.classNames.slice(),
  };
}

/**
 * Converts uint8 images to float32 N x 3 x 32 x 32, minus the float32 mean image when subtractMean
 * (float32 arithmetic, so a GPU kernel doing `f32(px) - mean[j]` gets the same bits).
 *   const X = toImageTensor(u8.train, u8.meanImage, true);
 *   X.shape; // [count, 3, 32, 32]
 */
export function toImageTensor(split: LabeledImages, meanImage: Float32Array, subtractMean: boolean): ImageTensor {
  const { count, images } = split;
  const data = new Float32Array(count * IMAGE_BYTES);
  if (!subtractMean) {
    data.set(images);
  } else {
    for (let i = 0; i < count; i++) {
      const row = data.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES);
      const src = images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES);
      for (let j = 0; j < IMAGE_BYTES; j++) row[j] = src[j] - meanImage[j];
    }
  }
  return { data, shape: [count, 3, 32, 32] };
}

/**
 * The seed's float form of the uint8 splits: the training mean subtracted from every split.
 *   const data = makeCIFAR10Data(makeCIFAR10Uint8(batches));
 *   data.XTrain.shape; // [49000, 3, 32, 32]
 */
export function makeCIFAR10Data(u8: CIFAR10Uint8, opts: { subtractMean?: boolean } = {}): CIFAR10Data {
  const subtract = opts.subtractMean ?? true;
  return {
    XTrain: toImageTensor(u8.train, u8.meanImage, subtract),
    yTrain: u8.train.labels,
    XVal: toImageTensor(u8.val, u8.meanImage, subtract),
    yVal: u8.val.labels,
    XTest: toImageTensor(u8.test, u8.meanImage, subtract),
    yTest: u8.test.labels,
    classNames: u8.classNames,
    meanImage: u8.meanImage,
  };
}
