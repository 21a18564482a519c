// TF.js's WebGPU backend in Node: the `webgpu` package (Dawn) as navigator.gpu, so bench/peers/tfjs*.ts run beside ours in the same process.

// Dawn tears its instance down when the GPU object is collected: keep it for the process's life.
const kept: unknown[] = [];

/**
 * Make `navigator.gpu` (and the WebGPU globals) the `webgpu` package's, with the same Dawn toggles as ours; call before importing TF.js's backend.
 *   await installNodeNavigatorGpu({ enable: [], disable: ['timestamp_quantization'] });
 *   const { createTfjsPeer } = await import('./tfjs.ts');
 */
export async function installNodeNavigatorGpu(toggles: { enable: string[]; disable: string[] }): Promise<void> {
  const name = 'webgpu';
  const mod = (await import(/* @vite-ignore */ name)) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, mod.globals);
  const flags = [`disable-dawn-features=${toggles.disable.join(',')}`];
  if (toggles.enable.length) flags.push(`enable-dawn-features=${toggles.enable.join(',')}`);
  const gpu = mod.create(flags);
  kept.push(gpu);
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}
