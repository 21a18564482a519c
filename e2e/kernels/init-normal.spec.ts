// The initial-weight draw on the GPU (Philox4x32-10 + Box–Muller in f32) against the float64 reference's, element by element, at ragged shapes.
import { test, expect } from '../fixtures.ts';

test('init_normal draws what the float64 reference draws, to f32 rounding, for several models at ragged and padded shapes', async ({
  harness,
}) => {
  const rows = await harness.page.evaluate(async () => {
    const { lib } = window;
    const ref = lib.reference;
    const gpu = await window.gpuReady;
    // rows x cols stored in [storedRows, storedCols] blocks, one per member; seeds negative, past 2^32, zero; a zero scale
    const cases = [
      { rows: 1, cols: 1, stream: 1, members: [{ seed: 0, scale: 1 }] },
      { rows: 37, cols: 13, stream: 2, members: [{ seed: 5, scale: 0.3 }] },
      {
        rows: 7,
        cols: 10,
        storedRows: 8,
        storedCols: 12,
        stream: 3,
        members: [
          { seed: -1, scale: 1 },
          { seed: 2 ** 40 + 3, scale: 2e-2 },
          { seed: 7, scale: 0 },
        ],
      },
      {
        rows: 3072,
        cols: 50,
        storedCols: 52,
        stream: 1,
        members: [
          { seed: 11, scale: 1 },
          { seed: 12, scale: 5e-2 },
        ],
      },
      // 3 workgroups forced for 40 000 Philox groups: the grid-stride loop (a real GPU's large tensors, past 65535 workgroups)
      { rows: 401, cols: 397, stream: 4, members: [{ seed: 3, scale: 1 }], maxWorkgroups: 3 },
    ];
    const sentinel = 7.5; // what the padding holds before: the kernel must leave it
    const out = [];
    for (const c of cases) {
      const storedRows = c.storedRows ?? c.rows;
      const storedCols = c.storedCols ?? c.cols;
      const block = storedRows * storedCols;
      const scope = lib.createScope(gpu);
      const buf = scope.createTensorBuffer(new Float32Array(block * c.members.length).fill(sentinel), 'W');
      const members = c.members.map((m) => ({ key: ref.makeInitKey(m.seed), scale: m.scale }));
      await lib.runDispatches(gpu, [await lib.createNormalInit(scope, { ...c, out: buf, storedRows, storedCols, members })]);
      const got = await window.setup.read(gpu, buf, block * c.members.length);
      scope.destroy();
      // the error in units of 2^-24 |want| (half an f32 ULP), and where it is largest
      let worstUlp = 0;
      let zerosExact = true;
      let paddingKept = true;
      let values = 0;
      let sumSq = 0;
      c.members.forEach((m, k) => {
        const want = new Float64Array(c.rows * c.cols);
        ref.fillInitNormals(want, m.seed, c.stream, m.scale);
        for (let i = 0; i < storedRows; i++)
          for (let j = 0; j < storedCols; j++) {
            const g = got[k * block + i * storedCols + j]!;
            if (i >= c.rows || j >= c.cols) {
              if (g !== sentinel) paddingKept = false;
              continue;
            }
            const w = want[i * c.cols + j]!;
            if (w === 0) zerosExact &&= g === 0;
            else worstUlp = Math.max(worstUlp, Math.abs(g - w) / (Math.abs(w) * 2 ** -24)); // NaN fails below
            if (!Number.isFinite(g)) worstUlp = Infinity;
            values++;
            sumSq += m.scale > 0 ? (g / m.scale) ** 2 : 1;
          }
      });
      out.push({
        shape: `[${c.rows},${c.cols}] stored [${storedRows},${storedCols}] x${c.members.length}`,
        worstUlp,
        zerosExact,
        paddingKept,
        values,
        meanSq: sumSq / values,
      });
    }
    return out;
  });
  expect(rows).toHaveLength(5);
  for (const r of rows) {
    // f32 arithmetic in the transform (log, square root, sine and cosine series, two products): a few half-ULPs; 32 = 2^-19 relative
    expect(r.worstUlp, r.shape).toBeLessThan(32);
    expect(r.zerosExact, `${r.shape}: zero scale and zero draws are exact zeros`).toBe(true);
    expect(r.paddingKept, `${r.shape}: the padding is left as it was`).toBe(true);
  }
  expect(rows.map((r) => r.values)).toEqual([1, 37 * 13, 3 * 70, 2 * 3072 * 50, 401 * 397]);
  // standard normals (after the scale): mean square about 1 over the large cases
  for (const r of rows.slice(3)) expect(Math.abs(r.meanSq - 1), r.shape).toBeLessThan(0.01);
});

test('init_normal refuses bad arguments before any dispatch, naming them', async ({ harness }) => {
  const errors = await harness.page.evaluate(async () => {
    const { lib } = window;
    const gpu = await window.gpuReady;
    const scope = lib.createScope(gpu);
    const out = scope.createTensorBuffer(64 * 4, 'W');
    const ok = { out, rows: 4, cols: 4, stream: 1, members: [{ key: [1, 0] as [number, number], scale: 1 }] };
    const tries = [
      { ...ok, storedCols: 3 },
      { ...ok, rows: 0 },
      { ...ok, members: [] },
      { ...ok, members: [{ key: [1, -1] as [number, number], scale: 1 }] },
      { ...ok, members: [{ key: [1, 0] as [number, number], scale: -1 }] },
      { ...ok, rows: 5, storedCols: 4, members: [ok.members[0]!, ok.members[0]!, ok.members[0]!, ok.members[0]!] },
    ];
    const messages = [];
    for (const t of tries)
      messages.push(
        await lib.createNormalInit(scope, t).then(
          () => 'no error',
          (e: Error) => e.message,
        ),
      );
    scope.destroy();
    return messages;
  });
  expect(errors).toEqual([
    'init_normal W1 [4,4] stored [4,3] x1: storedCols must be an integer >= 4, got 3',
    'init_normal W1 [0,4] x1: rows must be an integer >= 1, got 0',
    'init_normal W1 [4,4] x0: members must list at least one net',
    'init_normal W1 [4,4] x1: members[0].key must be two u32 words, got [1,-1]',
    'init_normal W1 [4,4] x1: members[0].scale must be a finite number >= 0, got -1',
    'init_normal W1 [5,4] x4: out has 256 bytes, needs 320 (80 x 4)',
  ]);
});
