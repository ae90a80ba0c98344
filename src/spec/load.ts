import type { Diagnostic } from '../errors.js';
import type { ResolvedSpec } from './types.js';

/** Result of loading one repo folder: every problem collected, never thrown. */
export interface LoadResult {
  spec?: ResolvedSpec;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Placeholder: the loader (parse → schema → normalise → rules → freeze) lands with the spec issue. */
export async function loadRepoFolder(_repoDir: string): Promise<LoadResult> {
  throw new Error('not implemented yet');
}
