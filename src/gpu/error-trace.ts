// Naming the dispatch behind a GPU error without debug groups in the normal path: recent encodings are kept by encoder label and re-encoded with debug groups when one fails.

/** Records a command's work into a compute pass again, with a debug group per dispatch (never submitted). */
export type Reencode = (pass: GPUComputePassEncoder) => void;

/** How many submits back an error can still be traced (uncaptured errors arrive a few submits late). */
const keep = 64;

const recent = new WeakMap<GPUDevice, { count: number; byLabel: Map<string, Reencode> }>();

/**
 * Remember how to re-encode a command encoder's pass; returns the unique label to give the encoder (`label #n`), which
 * Dawn quotes in a validation error, so `traceEncoding` can find it.
 *   const enc = device.createCommandEncoder({ label: rememberEncoding(device, 'train step', (p) => encodeDispatches(p, list, { debugGroups: true })) });
 *   // enc.label: 'train step #1'
 */
export function rememberEncoding(device: GPUDevice, label: string, reencode: Reencode): string {
  let r = recent.get(device);
  if (!r) recent.set(device, (r = { count: 0, byLabel: new Map() }));
  const unique = `${label} #${++r.count}`;
  r.byLabel.set(unique, reencode);
  if (r.byLabel.size > keep) r.byLabel.delete(r.byLabel.keys().next().value!);
  return unique;
}

/**
 * The encoding an error message names (`[CommandEncoder "train step #3"]`, or the command buffer made from it), if kept.
 *   findEncoding(device, 'While finishing [CommandEncoder "train step #3"].'); // its Reencode, or null
 *   findEncoding(device, 'Buffer is destroyed'); // null
 */
export function findEncoding(device: GPUDevice, message: string): Reencode | null {
  const r = recent.get(device);
  if (!r) return null;
  for (const m of message.matchAll(/CommandEncoder "([^"]+)"/g)) {
    const found = r.byLabel.get(m[1]!);
    if (found) return found;
  }
  return null;
}

/**
 * Re-encode a failed encoding with debug groups inside a validation error scope, without submitting it; resolves to the
 * error it raises again (its message carries the debug-group stack, so the dispatch's label), or null.
 *   const err = await traceEncoding(device, findEncoding(device, e.message)!);
 *   err && makeGpuErrorRecord(err).kernel; // 'affine forward 50x3072 -> 100'
 */
export async function traceEncoding(device: GPUDevice, reencode: Reencode): Promise<GPUError | null> {
  device.pushErrorScope('validation');
  try {
    const enc = device.createCommandEncoder({ label: 'error trace' });
    const pass = enc.beginComputePass({ label: 'error trace' });
    reencode(pass);
    pass.end();
    enc.finish();
  } catch {
    // a JS exception while re-encoding (the device's objects gone): the scope is still popped, and names nothing
  }
  return device.popErrorScope();
}
