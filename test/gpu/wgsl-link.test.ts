// Shared WGSL helpers are written once (shaders/lib/) and linked in front of a kernel: reflection sees the linked module.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { linkWgsl, reflectKernel } from '../../src/gpu/kernel.ts';

const read = (f: string) => readFileSync(new URL(`../../shaders/${f}`, import.meta.url), 'utf8');

describe('linkWgsl', () => {
  it('the column helpers live only in shaders/lib/columns.wgsl, and the linked batchnorm kernels reflect', () => {
    const columns = read('lib/columns.wgsl');
    for (const f of ['batchnorm-forward.wgsl', 'batchnorm-backward.wgsl']) {
      const module = read(f);
      expect(module, f).not.toMatch(/fn (quadColumns|load4|load4rw|store4)\(/);
      expect(module, f).toMatch(/quadColumns\(/); // it calls them
    }
    expect(columns.match(/^fn \w+/gm)).toEqual(['fn quadColumns', 'fn load4', 'fn load4rw', 'fn store4']);
    const fwd = reflectKernel({
      name: 'batchnorm-forward',
      source: linkWgsl(columns, read('batchnorm-forward.wgsl')),
      entryPoint: 'trainColumns',
      constants: { WG: 8, SAVE: 1 },
    });
    expect(Object.keys(fwd.bindings).sort()).toEqual([
      'beta',
      'gamma',
      'invStd',
      'mean',
      'out',
      'params',
      'runningMean',
      'runningVar',
      'x',
      'xhat',
    ]);
    expect(fwd.workgroupSize).toEqual([8, 1, 1]);
    const bwd = reflectKernel({
      name: 'batchnorm-backward',
      source: linkWgsl(columns, read('batchnorm-backward.wgsl'), read('batchnorm-backward-alternative.wgsl')),
      entryPoint: 'alternativeColumns',
      constants: { WG: 8 },
    });
    expect(bwd.uniforms.params!.fields.n!.offset).toBe(0);
    expect(Object.keys(bwd.bindings)).toContain('dout');
  });

  it('the workgroup tree sum lives only in shaders/lib/tree-sum.wgsl; the reduction kernels call it', () => {
    const files = readdirSync(new URL('../../shaders/', import.meta.url)).filter((f) => f.endsWith('.wgsl'));
    const halving = /for \(var \w+ = [^;]+\/ 2u; \w+ > 0u; \w+ >>= 1u\)/; // the tree's halving loop
    expect(read('lib/tree-sum.wgsl')).toMatch(halving);
    expect(files.filter((f) => halving.test(read(f)))).toEqual([]);
    for (const f of ['batchnorm-forward.wgsl', 'batchnorm-backward.wgsl', 'row-sum.wgsl', 'affine-batchnorm.wgsl'])
      expect(read(f), f).toMatch(/treeSum\(/);
    const rows = reflectKernel({
      name: 'layernorm',
      source: linkWgsl(read('lib/tree-sum.wgsl'), read('row-sum.wgsl'), read('layernorm.wgsl')),
      entryPoint: 'forward',
      constants: { WG: 64 },
    });
    expect(rows.workgroupSize).toEqual([64, 1, 1]);
  });
});
