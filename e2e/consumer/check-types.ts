// Type-checked under `strict` in the consumer project: the public API of both entries, as an installed package.
import { FullyConnectedNeuralNet, Solver, requestGpu, reference, type GpuContext, type SolverData } from 'webgpu-batchnorm';
import { getCIFAR10Data, locateCIFAR10 } from 'webgpu-batchnorm/node';

export async function train(): Promise<number[]> {
  const gpu: GpuContext = await requestGpu();
  const data: SolverData = await getCIFAR10Data({ numTraining: 10, numValidation: 10, numTest: 0 });
  const net = await FullyConnectedNeuralNet.create(gpu, [5], { useBatchnorm: true });
  const solver = new Solver(net, data, { updateRule: 'adam', numEpochs: 1 });
  const { status } = await solver.train();
  // @ts-expect-error the types are real, not `any`: hidden dims are numbers
  await FullyConnectedNeuralNet.create(gpu, ['5']);
  // @ts-expect-error a status is one of four strings
  const never: 'done' = status;
  const { dir } = await locateCIFAR10();
  return [...solver.lossHistory, reference.relError(new Float64Array(1), new Float64Array(1)), dir.length, never.length];
}
