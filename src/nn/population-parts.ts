// The host side of a population in groups: arrays joined in model order, tensors by name split into the groups' models, checkpoints joined and split.
import type { ModelCheckpoint } from '../graph/checkpoint.ts';
import { sizeOf } from '../graph/graph.ts';
import type { TensorValues } from '../graph/tensors.ts';

/**
 * The arrays one after another in one new array of `Kind`.
 *   concatFloats([Float64Array.of(1), Float64Array.of(2, 3)], Float64Array); // [1, 2, 3]
 *   concatFloats([f32a, f32b], Float32Array);
 */
export function concatFloats<T extends Float32Array | Float64Array>(parts: readonly ArrayLike<number>[], Kind: { new (n: number): T }): T {
  const out = new Kind(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Tensors of all models stacked (model k's block the k-th; `shapes` are the stacked shapes) split into one entry per
 * group of `sizes[g]` consecutive models; every entry's name, length and shape is checked before anything is split.
 *   splitValues({ b1: { data: [1, 2, 3, 4, 5, 6] } }, { b1: [6] }, [2, 1], 'setParams'); // [{ b1: [1..4] }, { b1: [5, 6] }]
 *   splitValues({ b9: { data: [] } }, { b1: [6] }, [2, 1], 'setParams'); // Error: setParams: no tensor named b9
 */
export function splitValues(
  values: TensorValues,
  shapes: Record<string, number[]>,
  sizes: readonly number[],
  where: string,
): TensorValues[] {
  const models = sizes.reduce((a, b) => a + b, 0);
  for (const [n, v] of Object.entries(values)) {
    const shape = shapes[n];
    if (!shape) throw new Error(`${where}: no tensor named ${n} (have ${Object.keys(shapes).join(', ')})`);
    if (v.data.length !== sizeOf(shape))
      throw new Error(`${where}: ${n} has ${v.data.length} values, expected ${sizeOf(shape)} (shape [${shape.join(',')}])`);
    if (v.shape && v.shape.join(',') !== shape.join(','))
      throw new Error(`${where}: ${n} has shape [${v.shape.join(',')}], this population has [${shape.join(',')}]`);
  }
  let first = 0;
  return sizes.map((m) => {
    const part: TensorValues = {};
    for (const [n, v] of Object.entries(values)) {
      const shape = shapes[n]!;
      const per = sizeOf(shape) / models;
      const data = Float32Array.from(v.data as ArrayLike<number>).subarray(first * per, (first + m) * per);
      part[n] = { data, shape: shape.length === 3 ? [m, shape[1]!, shape[2]!] : [m * per] };
    }
    first += m;
    return part;
  });
}

/**
 * The groups' checkpoints (of one iteration) as one: every store's arrays one after another, the rule's config of
 * the first group (every group steps alike; per-model rates are set again after a rebuild), bytes summed.
 *   const c = joinCheckpoints([await a.checkpoint(5), await b.checkpoint(5)]);
 *   c.params.length; // a's params + b's
 */
export function joinCheckpoints(list: readonly ModelCheckpoint[]): ModelCheckpoint {
  const first = list[0]!;
  const join = (pick: (c: ModelCheckpoint) => Float32Array) => concatFloats(list.map(pick), Float32Array);
  const update = first.update && {
    rule: first.update.rule,
    config: { ...first.update.config },
    slots: Object.fromEntries(Object.keys(first.update.slots).map((n) => [n, join((c) => c.update!.slots[n]!)])),
  };
  return {
    iteration: first.iteration,
    params: join((c) => c.params),
    state: join((c) => c.state),
    update,
    bytes: list.reduce((a, c) => a + c.bytes, 0),
    readMs: Math.max(...list.map((c) => c.readMs)),
  };
}

/**
 * Cut a joined checkpoint back into the groups' (`sizes`: each group's params and state f32 counts; a slot store is
 * the params' size); a checkpoint of another size is an error naming `where`.
 *   const [a, b] = splitCheckpoint(joined, [{ params: 512, state: 64 }, { params: 256, state: 64 }], 'rebuildOn');
 */
export function splitCheckpoint(c: ModelCheckpoint, sizes: readonly { params: number; state: number }[], where: string): ModelCheckpoint[] {
  const total = sizes.reduce((a, s) => ({ params: a.params + s.params, state: a.state + s.state }), { params: 0, state: 0 });
  const slots = Object.values(c.update?.slots ?? {});
  if (c.params.length !== total.params || c.state.length !== total.state || slots.some((s) => s.length !== total.params))
    throw new Error(`${where}: the checkpoint is not one of this population (${c.params.length} params, ${total.params} expected)`);
  let p = 0;
  let s = 0;
  return sizes.map((size) => {
    const cut = (a: Float32Array) => a.slice(p, p + size.params);
    const part: ModelCheckpoint = {
      iteration: c.iteration,
      params: cut(c.params),
      state: c.state.slice(s, s + size.state),
      update: c.update && {
        rule: c.update.rule,
        config: { ...c.update.config },
        slots: Object.fromEntries(Object.entries(c.update.slots).map(([n, a]) => [n, cut(a)])),
      },
      bytes: c.bytes,
      readMs: c.readMs,
    };
    p += size.params;
    s += size.state;
    return part;
  });
}
