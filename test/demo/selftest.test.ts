// The self-test's error measures, row verdicts and table text (demo/experiments/selftest.ts) on hand-computed values, no GPU.
import { describe, expect, test } from 'vitest';
import { formatSelfTest, makeSelfTestRow, type SelfTestResults } from '../../demo/experiments/selftest.ts';
import { boundedError, normError, relErr, scaledError } from '../../demo/experiments/error-measures.ts';

describe('the error measures', () => {
  test('match hand-computed values', () => {
    expect(boundedError([1.5, 2], [1, 2], (i) => [10, 1][i]!)).toBeCloseTo(0.05, 12); // |0.5| / 10
    expect(scaledError([2, 1.001], [2, 1])).toBeCloseTo(5e-4, 12); // 0.001 / 2
    expect(normError([3, 4.0005], [3, 4])).toBeCloseTo(1e-4, 12); // 0.0005 / 5
    expect(relErr(1.1, 1)).toBeCloseTo(0.1 / 2.1, 12); // the seed's |x - y| / (|x| + |y|)
    expect(scaledError([1, 2], [1, 2])).toBe(0);
  });
  test('a NaN (an unwritten, poisoned output) is an infinite error, never a pass', () => {
    expect(boundedError([1, NaN], [1, 2], () => 1)).toBe(Infinity);
    expect(scaledError([NaN, 2], [1, 2])).toBe(Infinity);
    expect(normError([NaN], [1])).toBe(Infinity);
    expect(relErr([NaN], [1])).toBe(Infinity);
  });
});

describe('a case row', () => {
  const c = { kernel: 'batchnorm backward', variant: 'graph', shape: '37x101' };
  const measures = [
    { what: 'dx', error: 2e-5, tolerance: 1e-4 },
    { what: 'out', error: 8e-6, tolerance: 1e-5 },
  ];
  test('names the measure worst against its own tolerance and passes when every measure is within it', () => {
    const r = makeSelfTestRow(c, measures, 1, 0.5);
    expect(r).toMatchObject({ worstOf: 'out', worstError: 8e-6, tolerance: 1e-5, pass: true });
  });
  test('fails when any measure is over its (scaled) tolerance; exact measures (tolerance 0) pass only at error 0', () => {
    expect(makeSelfTestRow(c, measures, 0.5, 0).pass).toBe(false);
    expect(makeSelfTestRow(c, [{ what: 'out', error: 0, tolerance: 0 }], 0, 0).pass).toBe(true);
    expect(makeSelfTestRow(c, [{ what: 'out', error: 1e-9, tolerance: 0 }], 1, 0).pass).toBe(false);
    expect(makeSelfTestRow(c, [], 1, 0)).toMatchObject({ worstOf: 'no measure', pass: false });
  });
});

test('the table prints the adapter, a line per case with pass or FAIL, what was not run and the count', () => {
  const rows = [
    makeSelfTestRow({ kernel: 'matmul', variant: 'vec4', shape: '37x52x132' }, [{ what: 'C', error: 1e-7, tolerance: 1e-4 }], 1, 0),
    makeSelfTestRow({ kernel: 'layer norm', variant: 'workgroup', shape: '7x509' }, [{ what: 'dx', error: 3e-4, tolerance: 1e-4 }], 1, 0),
  ];
  const r: SelfTestResults = {
    adapter: { vendor: 'acme', architecture: 'x1', device: '', description: 'Acme X1', runtime: 'node', features: ['subgroups'] },
    rows,
    skipped: ['matmul block8sg 37x52x132: no subgroups'],
    passed: 1,
    failed: 1,
    seconds: 2,
  };
  const lines = formatSelfTest(r).split('\n');
  expect(lines[0]).toBe('adapter: acme / x1 / Acme X1 (node)');
  expect(lines[1]).toBe('features: subgroups');
  expect(lines.find((l) => l.startsWith('matmul'))).toMatch(/vec4 +37x52x132 +1\.00e-7 \(C\) +1e-4 +pass$/);
  expect(lines.find((l) => l.startsWith('layer norm'))).toMatch(/3\.00e-4 \(dx\) +1e-4 +FAIL$/);
  expect(lines).toContain('not run here: matmul block8sg 37x52x132: no subgroups');
  expect(lines.at(-1)).toBe('1 of 2 cases pass, 1 fail (2.0 s)');
});
