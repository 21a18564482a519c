// The scope's central size check: a buffer over the device's maxBufferSize or maxStorageBufferBindingSize fails before allocation, naming label, size and limit.
import { describe, expect, it } from 'vitest';
import { checkBufferSize, checkMemoryBudget, createScope, formatBytes, setMemoryBudget } from '../../src/gpu/buffers.ts';
import type { GpuContext } from '../../src/gpu/device.ts';

/** A context whose device has the given limits and counts createBuffer calls (none may happen when the check fails). */
function makeLimitedCtx(maxBufferSize: number, maxStorageBufferBindingSize: number, memoryBudget?: number) {
  const created: string[] = [];
  const stats = { bytesLive: 0 };
  const device = {
    limits: { maxBufferSize, maxStorageBufferBindingSize },
    createBuffer: (d: { label: string; size: number }) => {
      created.push(d.label);
      stats.bytesLive += d.size; // as createGpu's counters do
      return { label: d.label, destroy() {}, getMappedRange: () => new ArrayBuffer(64), unmap() {} };
    },
  };
  return { ctx: { device, stats, memoryBudget } as unknown as GpuContext, created };
}

describe('buffer limits', () => {
  it('formats sizes as the messages print them (decimal units, checked by hand)', () => {
    expect(formatBytes(1228800000)).toBe('1.23 GB');
    expect(formatBytes(1073741824)).toBe('1.07 GB');
    expect(formatBytes(134217728)).toBe('134 MB');
    expect(formatBytes(12)).toBe('12 B');
  });

  it('names the buffer, its size and the limit it passes', () => {
    const limits = { maxBufferSize: 1073741824, maxStorageBufferBindingSize: 134217728 };
    expect(() => checkBufferSize(limits, 'params', 3072 * 100000 * 4, 0x80)).toThrow(
      'buffer "params" is 1228800000 bytes (1.23 GB) > maxBufferSize 1073741824 (1.07 GB)',
    );
    expect(() => checkBufferSize(limits, 'W1', 3072 * 20000 * 4, 0x80)).toThrow(
      'buffer "W1" is 245760000 bytes (246 MB) > maxStorageBufferBindingSize 134217728 (134 MB)',
    );
    expect(() => checkBufferSize(limits, 'staging', 3072 * 20000 * 4, 0x01 | 0x08)).not.toThrow(); // not storage: only maxBufferSize
    expect(() => checkBufferSize(limits, 'odd', Number.NaN, 0x80)).toThrow('buffer "odd": size NaN is not a byte count');
    expect(() => checkBufferSize(limits, 'edge', 134217728, 0x80)).not.toThrow(); // exactly at the limit is allowed
  });

  it('createTensorBuffer throws before calling createBuffer, and still allocates what fits', () => {
    const { ctx, created } = makeLimitedCtx(1024, 256);
    const scope = createScope(ctx);
    expect(() => scope.createTensorBuffer(260, 'too big', 0x80)).toThrow(
      'buffer "too big" is 260 bytes (260 B) > maxStorageBufferBindingSize 256',
    );
    expect(() => scope.createTensorBuffer(new Float32Array(300), 'data', 0x80 | 0x08)).toThrow('buffer "data" is 1200 bytes');
    expect(created).toEqual([]);
    scope.createTensorBuffer(256, 'fits', 0x80);
    expect(created).toEqual(['fits']);
  });

  it('a context with a memory budget refuses the buffer that would pass it, naming it, before createBuffer', () => {
    expect(() => checkMemoryBudget({ memoryBudget: 2 ** 30, stats: { bytesLive: 1e9 } as GpuContext['stats'] }, 'W1', 1e8)).toThrow(
      'buffer "W1" is 100000000 bytes (100 MB): with 1000000000 bytes live that is 1100000000 (1.10 GB) > memoryBudget 1073741824 (1.07 GB)',
    );
    expect(() => checkMemoryBudget({ stats: { bytesLive: 1e12 } as GpuContext['stats'] }, 'no budget', 1e12)).not.toThrow();
    const { ctx, created } = makeLimitedCtx(1024, 1024, 1000);
    const scope = createScope(ctx);
    scope.createTensorBuffer(600, 'a', 0x80);
    expect(() => scope.createTensorBuffer(404, 'b', 0x80)).toThrow(
      'buffer "b" is 404 bytes (404 B): with 600 bytes live that is 1004 (1.00 kB) > memoryBudget 1000 (1.00 kB)',
    );
    scope.createTensorBuffer(400, 'c', 0x80); // exactly at the budget is allowed
    expect(created).toEqual(['a', 'c']);
  });

  it("requestGpu's memoryBudget is set only when it is a whole number of bytes > 0, and unset leaves no budget", () => {
    const ctx: { memoryBudget?: number } = {};
    setMemoryBudget(ctx, undefined);
    expect(ctx.memoryBudget).toBeUndefined();
    for (const bad of [0, -1, 1.5, NaN, 2 ** 60])
      expect(() => setMemoryBudget(ctx, bad)).toThrow(`requestGpu: memoryBudget must be a whole number of bytes > 0, got ${bad}`);
    expect(ctx.memoryBudget).toBeUndefined();
    setMemoryBudget(ctx, 4 * 2 ** 30);
    expect(ctx.memoryBudget).toBe(4294967296);
  });
});
