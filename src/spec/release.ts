import { specPackageManager, type ResolvedRelease } from './package-managers.js';
import type { PackageManagerName, ResolvedSpec } from './types.js';

export type { ResolvedRelease };

/**
 * The first version-like part of a repo name after a dash (photon-2.0 → 2.0, centos-6.9 → 6.9,
 * debian-12-python → 12), or undefined. What it means is the package manager's to say.
 */
export function versionInName(name: string): string | undefined {
  return /-(\d+(?:\.\d+)*)(?=-|$)/.exec(name)?.[1];
}

/** The release a repo name implies for its package manager (apt: debian-12 → bookworm), or undefined. */
export function deriveRelease(name: string, packagemanager: PackageManagerName): string | undefined {
  return specPackageManager(packagemanager).releaseFromName(name);
}

/**
 * `release` only where it is used: the spec's, else what the package manager finds (from the
 * name, its sources, or none when nothing reads one).
 */
export async function resolveRelease(
  spec: ResolvedSpec,
  explicit: string | undefined,
): Promise<ResolvedRelease> {
  if (explicit !== undefined) return { release: explicit, from: 'set in the spec' };
  return specPackageManager(spec.packagemanager).resolveRelease(spec);
}
