// The bench's command line (bench/report.ts parseBenchArgs), shared by `npm run bench` and the Node bench.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/report.ts';

describe('parseBenchArgs', () => {
  it('reads every flag, with the defaults where one is left out', () => {
    expect(parseBenchArgs([])).toEqual({ json: false, only: null, reps: 10, detail: false, sweepEpochs: null });
    expect(parseBenchArgs(['--only', 'sweep', '--sweep-epochs', '10', '--json', '--reps', '3', '--detail'])).toEqual({
      json: true,
      only: 'sweep',
      reps: 3,
      detail: true,
      sweepEpochs: 10,
    });
  });

  it('names a bad value or an unknown flag', () => {
    expect(() => parseBenchArgs(['--sweep-epochs', '0'])).toThrow('--sweep-epochs must be a positive integer, got 0');
    expect(() => parseBenchArgs(['--sweep-epochs', 'ten'])).toThrow('--sweep-epochs must be a positive integer, got ten');
    expect(() => parseBenchArgs(['--reps', '-1'])).toThrow('--reps must be a positive integer');
    expect(() => parseBenchArgs(['--epochs', '3'])).toThrow('unknown flag --epochs');
    expect(() => parseBenchArgs(['sweep'])).toThrow('unexpected argument sweep');
  });
});
