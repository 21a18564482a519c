// The initial tensors of FC nets on the GPU: the stores' starting values (zeros and ones) and the weights drawn there by Philox (src/ops/init-normal.ts).
import { createScope } from '../gpu/buffers.ts';
import { submitDispatches } from '../gpu/dispatch.ts';
import type { GraphModel } from '../graph/model.ts';
import type { TensorInit } from '../graph/model-definition.ts';
import { createNormalInit } from '../ops/init-normal.ts';
import { makeNetTensors, type ResolvedNetOptions } from '../reference/fc-net.ts';
import { makeInitKey } from '../reference/philox.ts';

/**
 * The tensors of one net (`models` null) or of `models` nets stacked on the model axis (W [M, in, out], vectors
 * [M·width]), in the stored layer sizes `storedDims` (a population's rounded-up widths; default the real ones): the
 * weights without data (zeros until `drawInitialWeights`), biases, betas and running statistics zeros, gammas ones
 * over the real widths only (a stored padding unit is zero).
 *   makeInitialTensors({ dims: [5, 3, 2], normalization: 'layernorm' }, null).params.map((t) => t.name); // W1, W2, b1, b2, gamma1, beta1
 *   makeInitialTensors(net, 20, [3072, 52, 10]).params[0]!.shape; // [20, 3072, 52]
 */
export function makeInitialTensors(
  net: Pick<ResolvedNetOptions, 'dims' | 'normalization'>,
  models: number | null,
  storedDims: readonly number[] = net.dims,
): { params: TensorInit[]; state: TensorInit[] } {
  const M = models ?? 1;
  const params: TensorInit[] = [];
  const state: TensorInit[] = [];
  for (const t of makeNetTensors(net)) {
    const shape = t.shape.length === 2 ? [storedDims[t.layer - 1]!, storedDims[t.layer]!] : [storedDims[t.layer]!];
    const tensor: TensorInit = { name: t.name, shape: models === null ? shape : shape.length === 2 ? [M, ...shape] : [M * shape[0]!] };
    if (t.start === 'ones') {
      const data = new Float32Array(M * shape[0]!);
      for (let k = 0; k < M; k++) data.fill(1, k * shape[0]!, k * shape[0]! + t.shape[0]!);
      tensor.data = data;
    }
    (t.name.startsWith('running') ? state : params).push(tensor);
  }
  return { params, state };
}

/**
 * Queue the draw of W1..WL of a net or population on the GPU, one dispatch per layer for every model: model k's W_l is
 * `weightScale · normal(seed, l, e)` over its real [dims[l-1], dims[l]] (what the float64 reference draws, to f32
 * rounding), in its stored block. Resolves once submitted, without waiting for the GPU.
 *   const net = new GraphModel(gpu, definition); // W1.. zeros
 *   await drawInitialWeights(net, [3072, 100, 10], [{ seed: 0, weightScale: 1e-2 }]);
 */
export async function drawInitialWeights(
  model: GraphModel,
  dims: readonly number[],
  members: readonly { seed: number; weightScale: number }[],
  storedDims: readonly number[] = dims,
): Promise<void> {
  const { gpu } = model;
  const scope = createScope(gpu);
  try {
    const draws = members.map((m) => ({ key: makeInitKey(m.seed), scale: m.weightScale }));
    const list = await Promise.all(
      dims.slice(1).map((cols, i) =>
        createNormalInit(scope, {
          out: model.params.ref(`W${i + 1}`),
          rows: dims[i]!,
          cols,
          storedRows: storedDims[i]!,
          storedCols: storedDims[i + 1]!,
          stream: i + 1,
          members: draws,
        }),
      ),
    );
    await submitDispatches(gpu, list, `${model.definition.name} initial weights`);
  } catch (e) {
    scope.destroy();
    throw e;
  }
  // the draws' keys and uniforms are freed once the GPU has run them
  gpu.device.queue.onSubmittedWorkDone().then(
    () => scope.destroy(),
    () => scope.destroy(),
  );
}
