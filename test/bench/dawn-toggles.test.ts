// requestGpu's Dawn toggles (src/gpu/adapter-detail.ts makeDawnToggles): timestamp_quantization stays disabled, names are checked.
import { describe, expect, it } from 'vitest';
import { makeDawnToggles } from '../../src/gpu/adapter-detail.ts';

describe('makeDawnToggles', () => {
  it('keeps timestamp_quantization disabled beside what is asked', () => {
    expect(makeDawnToggles()).toEqual({ enable: [], disable: ['timestamp_quantization'] });
    expect(
      makeDawnToggles({
        enable: ['skip_validation', 'allow_unsafe_apis'],
        disable: ['timestamp_quantization', 'lazy_clear_resource_on_first_use'],
      }),
    ).toEqual({
      enable: ['skip_validation', 'allow_unsafe_apis'],
      disable: ['timestamp_quantization', 'lazy_clear_resource_on_first_use'],
    });
  });

  it('names a malformed toggle or one both enabled and disabled', () => {
    expect(() => makeDawnToggles({ enable: ['skip-validation'] })).toThrow('dawnToggles.enable has "skip-validation"');
    expect(() => makeDawnToggles({ enable: ['timestamp_quantization'] })).toThrow('both enables and disables timestamp_quantization');
  });
});
