// The workgroup-memory tiled matmul rows of the variant table (shaders/matmul-tiled.wgsl): tile128, tile64, tile128k16.
import matmulTiledWgsl from '../../shaders/matmul-tiled.wgsl?raw';
import type { MatmulCaps, MatmulLayout, MatmulVariantRow, TiledVariant } from './matmul-variants.ts';

/** One tiled kernel's constants: TW x TW invocations own a 8·TW square of C; BK is the K depth of a tile. */
interface TileShape {
  name: TiledVariant;
  tw: number;
  bk: number;
}

const shapes: readonly TileShape[] = [
  { name: 'tile128', tw: 16, bk: 8 },
  { name: 'tile64', tw: 8, bk: 16 },
  { name: 'tile128k16', tw: 16, bk: 16 },
];

/**
 * Workgroup memory a tiled kernel takes: two buffers (double-buffered K tiles) of BK x 8·TW floats per operand.
 *   makeTileBytes(16, 8);  // 16384: tile128, the WebGPU default limit
 *   makeTileBytes(16, 16); // 32768: tile128k16, where the device grants it
 */
export function makeTileBytes(tw: number, bk: number): number {
  return 2 * 2 * bk * 8 * tw * 4;
}

/** The default maxComputeWorkgroupStorageSize of WebGPU. */
const defaultWorkgroupStorage = 16384;

/**
 * Whether an auto plan on a GPU takes a tiled kernel of side `bm`: a product of at least `minElems` outputs per batch,
 * m and n of at least one tile and K of at least 64, whose tiles waste at most 30 % of their area on the ragged edges
 * (a population's 50x52 blocks would fill a sixth of a 128 tile; the training shapes, batch 50, stay on vec4, which
 * matched cuBLAS there). The thresholds await GPU figures (docs/benchmarks.md, issue 23).
 *   tiledWorthIt(128, 1 << 21)({ m: 4096, n: 4096, k: 4096 }); // true
 *   tiledWorthIt(128, 1 << 21)({ m: 50, n: 52, k: 52, batches: 1000 }); // false
 */
export function tiledWorthIt(bm: number, minElems: number): (s: MatmulLayout) => boolean {
  return (s) => {
    const padded = Math.ceil(s.m / bm) * bm * Math.ceil(s.n / bm) * bm;
    return s.m >= bm && s.n >= bm && s.m * s.n >= minElems && s.k >= 64 && padded <= 1.3 * s.m * s.n;
  };
}

/**
 * The tiled rows, their sources linked behind `prelude` (the common matmul WGSL) and their tile constants.
 *   const rows = tiledRows([matmulCommonWgsl]);
 *   rows.tile128.block; // 128
 */
export function tiledRows(prelude: readonly string[]): Record<TiledVariant, MatmulVariantRow> {
  const rows = {} as Record<TiledVariant, MatmulVariantRow>;
  for (const { name, tw, bk } of shapes) {
    const bm = 8 * tw;
    const bytes = makeTileBytes(tw, bk);
    rows[name] = {
      name,
      module: `matmul-${name}`,
      sources: [...prelude, `const TW: u32 = ${tw}u;\nconst BK: u32 = ${bk}u;`, matmulTiledWgsl],
      entryPoint: 'main_tiled',
      bindings: { a: 'a', b: 'b', c: 'c' },
      block: bm,
      overBatches: false,
      wgMultiple: tw * tw,
      workgroupSize: tw * tw,
      kMultiple: bk,
      eligible: (_s: MatmulLayout, caps: MatmulCaps) =>
        bytes <= (caps.workgroupStorage ?? defaultWorkgroupStorage) ||
        `the ${name} kernel needs ${bytes} bytes of workgroup memory, the device grants ${caps.workgroupStorage ?? defaultWorkgroupStorage} (maxComputeWorkgroupStorageSize)`,
      // tile128 from 2048², tile64 from 512² (A·Bᵀ, the layout the register kernels read uncoalesced, from 256²)
      worthIt: (s) => tiledWorthIt(bm, bm === 128 ? 1 << 22 : s.transB ? 1 << 16 : 1 << 18)(s),
      grid: (s) => {
        const nb = Math.ceil(s.n / bm);
        const blocks = Math.ceil(s.m / bm) * nb;
        return { nb, blocks, invocations: blocks * tw * tw };
      },
    };
  }
  return rows;
}
