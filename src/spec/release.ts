import type { PackageManagerName } from './types.js';

/** Debian's release numbers and their suites; apt wants the suite. */
export const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
  '14': 'forky',
};

/**
 * The release a repo name implies: the first version-like part after a dash (photon-2.0 → 2.0,
 * centos-6.9 → 6.9, debian-12-python → bookworm for apt). Undefined when the name carries none.
 */
export function deriveRelease(name: string, packagemanager: PackageManagerName): string | undefined {
  const version = /-(\d+(?:\.\d+)*)(?=-|$)/.exec(name)?.[1];
  if (version === undefined) return undefined;
  if (packagemanager !== 'apt') return version;
  if (name.startsWith('debian-')) return DEBIAN_CODENAMES[version];
  // Other apt distributions (Ubuntu...) name suites too: there is no safe guess.
  return undefined;
}
