// The bench's command line (bench/report.ts parseBenchArgs), shared by `npm run bench` and the Node bench.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/args.ts';

describe('parseBenchArgs', () => {
  it('reads every flag, with the defaults where one is left out', () => {
    const defaults = {
      peers: [],
      python: 'python3',
      sizes: 'default',
      force: false,
      dawnEnable: [],
      dawnDisable: [],
      adapterOnly: false,
      models: null,
      gpuPlan: false,
      countsOnly: false,
    };
    expect(parseBenchArgs([])).toEqual({ json: false, only: null, reps: 10, detail: false, sweepEpochs: null, ...defaults });
    expect(parseBenchArgs(['--only', 'sweep', '--sweep-epochs', '10', '--json', '--reps', '3', '--detail'])).toEqual({
      json: true,
      only: 'sweep',
      reps: 3,
      detail: true,
      sweepEpochs: 10,
      ...defaults,
    });
    expect(
      parseBenchArgs([
        '--peers',
        'torch,tfjs',
        '--python',
        '/usr/bin/python3',
        '--sizes',
        'large',
        '--force',
        '--dawn-enable',
        'skip_validation,allow_unsafe_apis',
      ]),
    ).toMatchObject({
      peers: ['torch', 'tfjs'],
      python: '/usr/bin/python3',
      sizes: 'large',
      force: true,
      dawnEnable: ['skip_validation', 'allow_unsafe_apis'],
    });
    expect(parseBenchArgs(['--only', 'population-profile', '--models', '20,100,1000', '--gpu-plan', '--counts-only'])).toMatchObject({
      only: 'population-profile',
      models: [20, 100, 1000],
      gpuPlan: true,
      countsOnly: true,
    });
  });

  it('names a bad value or an unknown flag', () => {
    expect(() => parseBenchArgs(['--sweep-epochs', '0'])).toThrow('--sweep-epochs must be a positive integer, got 0');
    expect(() => parseBenchArgs(['--sweep-epochs', 'ten'])).toThrow('--sweep-epochs must be a positive integer, got ten');
    expect(() => parseBenchArgs(['--reps', '-1'])).toThrow('--reps must be a positive integer');
    expect(() => parseBenchArgs(['--epochs', '3'])).toThrow('unknown flag --epochs');
    expect(() => parseBenchArgs(['sweep'])).toThrow('unexpected argument sweep');
    expect(() => parseBenchArgs(['--peers', 'jax'])).toThrow('--peers knows tfjs and torch, got jax');
    expect(() => parseBenchArgs(['--sizes', 'huge'])).toThrow('--sizes must be default or large, got huge');
    expect(() => parseBenchArgs(['--python', '--json'])).toThrow('--python needs a value');
    expect(() => parseBenchArgs(['--models', '20,0'])).toThrow('--models must list positive integers, got 20,0');
    expect(() => parseBenchArgs(['--models', 'many'])).toThrow('--models must list positive integers, got many');
  });
});
