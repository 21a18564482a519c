// Replayable seeds for the specs that draw fresh random inputs on each run: `SEED=<n>` in the environment replays a run
// (every such spec prints its seed in its failure messages).

/**
 * The run's seed mixed with a spec's salt: `SEED` from the environment when set (a decimal integer), else the clock.
 *   const seed = testSeed(0x2545f491); // SEED=123 npx playwright test ... replays it
 */
export function testSeed(salt: number): number {
  const fixed = process.env.SEED;
  if (fixed !== undefined && !/^\d+$/.test(fixed)) throw new Error(`SEED must be a decimal integer, got "${fixed}"`);
  return ((fixed !== undefined ? Number(fixed) : Date.now()) ^ salt) >>> 0;
}
