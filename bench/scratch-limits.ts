import { requestGpu } from '../src/index.ts';
const gpu = await requestGpu();
console.log(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize, gpu.adapter);
