import type { BuildPlan } from '../pipeline/types.js';

/**
 * Placeholder: paths (inside the root) that the init layer needs at boot, so that the
 * minimise stage keeps them. Filled in with the tether/init layer.
 */
export function initRequirements(_plan: BuildPlan): string[] {
  return [];
}
