// The public entry stays small and documented: at most 90 runtime exports in src/index.ts, each named in the README.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import * as api from '../../src/index.ts';
import * as engine from '../../src/engine.ts';

const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

test('src/index.ts has at most 90 runtime exports, and the README names every one', () => {
  const names = Object.keys(api);
  expect(names.length).toBeLessThanOrEqual(90);
  expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(readme))).toEqual([]);
});

test('the engine entry carries the building blocks the public entry leaves out', () => {
  for (const name of [
    'Graph',
    'compileGraph',
    'createScope',
    'createDispatch',
    'createMatmul',
    'batchNormOp',
    'makeClassifier',
    'requestGpu',
  ]) {
    expect(engine, name).toHaveProperty(name);
  }
  expect(api).not.toHaveProperty('createMatmul');
  expect(api).not.toHaveProperty('compileGraph');
});
