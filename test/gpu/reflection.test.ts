// Reflection parses each source once: every kernel's bindings, uniforms and workgroup size (with override constants) match a fresh parse.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { WgslReflect } from 'wgsl_reflect';
import { linkWgsl, reflectKernel } from '../../src/gpu/kernel.ts';

const dir = new URL('../../shaders/', import.meta.url);
const columns = readFileSync(new URL('lib/columns.wgsl', dir), 'utf8');
const treeSum = readFileSync(new URL('lib/tree-sum.wgsl', dir), 'utf8');
const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
const read = (f: string) => readFileSync(new URL(f, dir), 'utf8');
/** The modules src/ops links in front of a file: matmul's common declarations (and block8vec4's for the subgroup kernel), else the column helpers and the tree sum. */
const prelude = (f: string) =>
  f === 'matmul-subgroups.wgsl'
    ? [read('lib/matmul-common.wgsl'), read('matmul-v8.wgsl')]
    : f.startsWith('matmul')
      ? [read('lib/matmul-common.wgsl')]
      : [columns, treeSum];

/** The source with override `k` given the value `v`, written by hand (not by the code under test). */
function withOverride(source: string, k: string, v: number): string {
  return source.replace(
    new RegExp(`override\\s+${k}\\s*:\\s*(\\w+)\\s*(=\\s*[^;]+)?;`),
    (_m, t: string) => `override ${k}: ${t} = ${t}(${v});`,
  );
}

describe('reflectKernel with one parse per source', () => {
  it('gives, for every entry point of every shader and its workgroup overrides, what a fresh parse of the substituted source gives', () => {
    let checked = 0;
    for (const f of files) {
      const source = linkWgsl(...prelude(f), read(f));
      const fresh = new WgslReflect(source);
      const sizeOverrides = ['WG', 'COLS', 'ROWS'].filter((k) => new RegExp(`override\\s+${k}\\b`).test(source));
      for (const e of fresh.entry.compute) {
        for (const constants of [{}, Object.fromEntries(sizeOverrides.map((k, i) => [k, 4 << i]))] as Record<string, number>[]) {
          let text = source;
          for (const [k, v] of Object.entries(constants)) text = withOverride(text, k, v);
          const want = new WgslReflect(text).entry.compute.find((x) => x.name === e.name)!;
          const got = reflectKernel({ name: f, source, entryPoint: e.name, constants });
          expect(got.workgroupSize, `${f} ${e.name} ${JSON.stringify(constants)}`).toEqual(
            [0, 1, 2].map((i) => want.workgroupSize?.[i] ?? 1),
          );
          expect(Object.keys(got.bindings).sort(), `${f} ${e.name}`).toEqual(want.resources.map((r) => r.name).sort());
          for (const r of want.resources) expect(got.bindings[r.name]!.binding, `${f} ${e.name} ${r.name}`).toBe(r.binding);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40); // every shader file was read: dozens of entry points
  });

  it('still names an override the source does not have', () => {
    const source = linkWgsl(readFileSync(new URL('elementwise.wgsl', dir), 'utf8'), 'fn apply(i: u32) -> V { return a[i]; }');
    expect(() => reflectKernel({ name: 'relu', source, constants: { NOPE: 1 } })).toThrow('kernel relu: no override constant named NOPE');
  });
});
