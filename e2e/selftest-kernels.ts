// The kernel families every self-test run checks (demo/experiments/selftest*.ts), for the CLI and page specs that read its table.
export const selfTestKernels = [
  'matmul',
  'batchnorm forward',
  'batchnorm backward',
  'layer norm',
  'softmax loss',
  'optimizer',
  'gather images',
  'gather rows',
];
