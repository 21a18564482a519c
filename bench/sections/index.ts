// The benchmark's sections in run order, and `--only` selection; a new section is one module plus one line here.
import { matmulSection } from './matmul.ts';
import { bnBackwardSection } from './bn-backward.ts';
import { trainingSection } from './training.ts';
import { experimentsSection } from './experiments.ts';
import { sweepSection } from './sweep.ts';
import type { BenchSection } from './types.ts';

export const sections: BenchSection[] = [matmulSection, bnBackwardSection, trainingSection, experimentsSection, sweepSection];

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
