// The benchmark's sections in run order, and `--only` selection; a new section is one module plus one line here.
import { matmulSection, largeMatmulShapes } from './matmul.ts';
import { bnBackwardSection, largeBnShapes } from './bn-backward.ts';
import { trainingSection } from './training.ts';
import { experimentsSection } from './experiments.ts';
import { sweepSection } from './sweep.ts';
import { populationSection } from './population.ts';
import { populationProfileSection } from './population-profile.ts';
import type { BenchSection } from './types.ts';

export const sections: BenchSection[] = [
  matmulSection,
  bnBackwardSection,
  trainingSection,
  experimentsSection,
  sweepSection,
  populationSection,
  populationProfileSection,
];

/** What runs when no --only is given: the experiments take minutes on a CPU adapter, so they are asked for by name. */
export const defaultSections = ['matmul', 'bn', 'training'];

/**
 * The sections named in `only` (comma-separated, e.g. 'matmul,bn'), in run order; all when empty.
 *   selectSections('bn').map((s) => s.name); // ['bn']
 *   selectSections('');                      // every section
 */
export function selectSections(only: string | null | undefined): BenchSection[] {
  const names = (only ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!names.length) return sections.filter((s) => defaultSections.includes(s.name));
  const unknown = names.filter((n) => !sections.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(`bench: unknown section(s) ${unknown.join(', ')}; sections are ${sections.map((s) => s.name).join(', ')}`);
  return sections.filter((s) => names.includes(s.name));
}

/**
 * Why `--sizes large` should not run on a CPU adapter: a lower bound on its time there, from the large matmuls' FLOPs
 * (reps + 2 warm-ups, at 20 GFLOPS, more than SwiftShader on a few cores gives) and the batchnorm bytes (at 10 GB/s).
 *   makeLargeEstimate(10).seconds; // about 2300
 *   makeLargeEstimate(10).text;    // '~45.2 TFLOP of matmul and ~58 GB of batchnorm traffic: at least 0.6 h on a CPU adapter ...'
 */
export function makeLargeEstimate(reps: number): { seconds: number; text: string } {
  const runs = reps + 2;
  const flop = largeMatmulShapes.reduce((t, s) => t + 2 * s.m * s.n * s.k, 0) * runs;
  const bytes = largeBnShapes.reduce((t, s) => t + 12 * s.n * s.d, 0) * runs * 2;
  const seconds = flop / 20e9 + bytes / 10e9;
  return {
    seconds,
    text: `~${(flop / 1e12).toFixed(1)} TFLOP of matmul and ~${(bytes / 1e9).toFixed(0)} GB of batchnorm traffic: at least ${(seconds / 3600).toFixed(1)} h on a CPU adapter (20 GFLOPS, 10 GB/s), before the wide nets and populations`,
  };
}
