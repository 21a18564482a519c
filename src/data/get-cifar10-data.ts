// Node-only getCIFAR10Data / getCIFAR10Uint8: locate the files, parse only what is needed, split and subtract the mean.
import { makeCIFAR10Data, makeCIFAR10Uint8 } from './splits.ts';
import type { CIFAR10Data, CIFAR10Uint8, SplitOptions } from './splits.ts';
import { locateCIFAR10, readCIFAR10Dir } from './locate.ts';
import type { LocateOptions } from './locate.ts';

/** Split sizes, where the data comes from (see locateCIFAR10), and whether to subtract the mean. */
export interface GetCIFAR10Options extends SplitOptions, LocateOptions {
  subtractMean?: boolean;
}

/**
 * The splits as packed uint8 plus the float32 mean image, for the GPU upload (50000 images = 150 MB).
 *   const { train, val, meanImage } = await getCIFAR10Uint8({ numTraining: 1000 });
 *   train.images.length === 1000 * 3072;
 */
export async function getCIFAR10Uint8(opts: GetCIFAR10Options = {}): Promise<CIFAR10Uint8> {
  const { dir } = await locateCIFAR10(opts);
  const needTrain = (opts.numTraining ?? 49000) + (opts.numValidation ?? 1000);
  try {
    return makeCIFAR10Uint8(readCIFAR10Dir(dir, needTrain), opts);
  } catch (e) {
    if ((e as Error).message.startsWith('asked for')) throw new Error(`${(e as Error).message}, in ${dir}`, { cause: e });
    throw e;
  }
}

/**
 * cs231n get_CIFAR10_data: X* as float32 N x 3 x 32 x 32 minus the training mean image, y* labels.
 *   const data = await getCIFAR10Data({ numTraining: 3000, numValidation: 1000, numTest: 1000 });
 *   data.XTrain.shape; // [3000, 3, 32, 32]
 */
export async function getCIFAR10Data(opts: GetCIFAR10Options = {}): Promise<CIFAR10Data> {
  return makeCIFAR10Data(await getCIFAR10Uint8(opts), opts);
}
