// Type-checked under `strict` in the consumer project: the public API of all three entries, as an installed package.
import { FullyConnectedNeuralNet, Solver, requestGpu, reference, type GpuContext, type SolverData } from 'webgpu-batchnorm';
import { getCIFAR10Data, locateCIFAR10 } from 'webgpu-batchnorm/node';
import { Graph, compileGraph, createScope, reluOp, type Dispatch, type OpDef } from 'webgpu-batchnorm/engine';

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
  // the engine entry: a one-node graph compiled on the same device
  const g = new Graph();
  const [y] = g.apply(reluOp as OpDef, [g.value('x', [4], 'data')]);
  const scope = createScope(gpu);
  const compiled = await compileGraph(scope, g, new Map([[g.values[0]!, scope.createTensorBuffer(16, 'x')]]));
  const dispatches: Dispatch[] = compiled.dispatches;
  // @ts-expect-error a graph value has a numeric shape
  g.value('z', ['4'], 'data');
  scope.destroy();
  return [...solver.lossHistory, reference.relError(new Float64Array(1), new Float64Array(1)), dir.length, never.length, dispatches.length, y!.shape[0]!];
}
