// Adapter summaries of each class the plans tell apart (a GPU, a CPU adapter), for tests of plans that need no device.
import type { AdapterSummary } from '../../src/gpu/device.ts';

/** An NVIDIA GPU (the class whose plans take vec4 and the tiled kernels). */
export const nvidiaAdapter: AdapterSummary = {
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: 'NVIDIA H100',
  runtime: 'node',
};

/** SwiftShader, the CPU adapter CI runs on. */
export const swiftshaderAdapter: AdapterSummary = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: 'SwiftShader Device (Subzero)',
  runtime: 'browser',
};
