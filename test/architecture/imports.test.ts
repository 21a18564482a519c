// The import rules of docs/architecture.md ("Who imports whom"), checked over every source file: a change that breaks one fails here.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** One import of a file: what it names (resolved, relative to the repository) and whether it is `import type` only. */
interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/**
 * Where each part of src/ may import from: `any` lists the parts it may import values from, `types` those it may take
 * types from only. The table is the text of docs/architecture.md, "Who imports whom".
 */
const srcRules: Record<string, { any: string[]; types?: string[] }> = {
  gpu: { any: ['gpu'] },
  graph: { any: ['graph', 'gpu'] },
  ops: { any: ['ops', 'gpu', 'graph'] },
  reference: { any: ['reference'] },
  data: { any: ['data'] },
  solver: { any: ['solver', 'reference', 'ops/update-rules.ts'], types: ['gpu', 'graph'] },
  nn: { any: ['nn', 'gpu', 'graph', 'ops', 'reference', 'solver'] },
};

/** The public entries: what demo/, bench/ and scripts/ may import of src/. */
const publicEntries = ['src/index.ts', 'src/engine.ts', 'src/node.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' || e.name === 'tmp' ? [] : sourceFiles(path);
    return /\.(ts|mjs)$/.test(e.name) ? [path] : [];
  });
}

/**
 * The relative imports of a source text (static imports and exports, dynamic imports), each resolved against its file.
 *   importsOf('src/ops/relu.ts', "import type { Value } from '../graph/graph.ts';"); // [{ to: 'src/graph/graph.ts', typeOnly: true, ... }]
 */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = (m[3] ?? m[4])!.replace(/\?raw$/, '');
    edges.push({ from: file, to: relative(root, resolve(root, dirname(file), spec)), typeOnly: !!m[2] });
  }
  return edges;
}

/**
 * The rule an import breaks, or null. Files under src/<part>/ follow `srcRules`; demo/, bench/ and scripts/ may import
 * src/ only through the public entries.
 *   violation({ from: 'src/graph/model.ts', to: 'src/ops/optim.ts', typeOnly: false }); // 'src/graph may not import src/ops'
 */
export function violation(e: ImportEdge): string | null {
  const [top, part] = e.from.split('/');
  const [toTop, toPart] = e.to.split('/');
  if (toTop !== 'src' || !toPart) return null;
  if (top === 'demo' || top === 'bench' || top === 'scripts') {
    return publicEntries.includes(e.to) ? null : `${top}/ may import src/ only through ${publicEntries.join(', ')}, not ${e.to}`;
  }
  if (top !== 'src' || !part || !srcRules[part]) return null;
  const rule = srcRules[part]!;
  const target = e.to.slice('src/'.length);
  const allowed = (list: string[] = []) => list.some((p) => target === p || target.startsWith(`${p}/`));
  if (allowed(rule.any)) return null;
  if (e.typeOnly && allowed(rule.types)) return null;
  return rule.types && allowed(rule.types)
    ? `src/${part} may import only types from src/${toPart} (${e.to})`
    : `src/${part} may not import src/${toPart} (${e.to})`;
}

describe('the import rules of docs/architecture.md', () => {
  test('the checker catches each kind of violation (it cannot pass vacuously)', () => {
    const edges = [
      ...importsOf('src/graph/model.ts', "import { optimizerOp } from '../ops/optim.ts';"),
      ...importsOf('src/solver/solver.ts', "import { createScope } from '../gpu/buffers.ts';"),
      ...importsOf('demo/main.ts', "import {\n  trainOne,\n} from '../src/nn/train-one.ts';"),
      ...importsOf('bench/x.ts', "const m = await import('../src/ops/matmul.ts');"),
      ...importsOf('src/reference/layers.ts', "export { x } from '../nn/fc-net.ts';"),
    ];
    expect(edges.map(violation)).toEqual([
      'src/graph may not import src/ops (src/ops/optim.ts)',
      'src/solver may import only types from src/gpu (src/gpu/buffers.ts)',
      'demo/ may import src/ only through src/index.ts, src/engine.ts, src/node.ts, not src/nn/train-one.ts',
      'bench/ may import src/ only through src/index.ts, src/engine.ts, src/node.ts, not src/ops/matmul.ts',
      'src/reference may not import src/nn (src/nn/fc-net.ts)',
    ]);
    expect(importsOf('src/solver/solver.ts', "import type { GpuContext } from '../gpu/device.ts';").map(violation)).toEqual([null]);
    expect(importsOf('demo/main.ts', "import { trainOne } from '../src/index.ts';").map(violation)).toEqual([null]);
  });

  test('no file in src/, demo/, bench/ or scripts/ breaks one', () => {
    const files = ['src', 'demo', 'bench', 'scripts'].flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(100);
    const broken = files.flatMap((f) => importsOf(f, readFileSync(join(root, f), 'utf8')).map((e) => [f, violation(e)] as const));
    expect(broken.filter(([, v]) => v !== null).map(([f, v]) => `${f}: ${v}`)).toEqual([]);
  });
});
