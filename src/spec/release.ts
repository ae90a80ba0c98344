import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { findAptSources, suiteOfSources } from '../pm/apt-sources.js';
import { showPath } from './document.js';
import type { PackageManagerName, ResolvedSpec } from './types.js';

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

export interface ResolvedRelease {
  /** '' when the repo needs one and none can be found: the release-derivable rule says so. */
  release: string;
  /** Where it came from, as `isobuild plan` says it. */
  from: string;
  /** RPM: the .repo files that use $releasever (the release matters only for them). */
  usedBy?: string[];
}

/**
 * `release` only where it is used. apt: the spec's, else the name's Debian version, else the
 * suite of the sources the build will use (the repo's own file, else the host's). RPM: the
 * spec's, else the name's version; a repo whose .repo files never say $releasever needs none,
 * and gets what follows the name's dash, as VIC's make did (`ci` → `ci`, harmless there).
 */
export async function resolveRelease(
  spec: ResolvedSpec,
  explicit: string | undefined,
): Promise<ResolvedRelease> {
  if (explicit !== undefined) return { release: explicit, from: 'set in the spec' };
  // An oci root names no package sources: nothing reads a release.
  if (spec.packagemanager === 'oci') return { release: '', from: 'not used: an oci root' };
  const fromName = deriveRelease(spec.name, spec.packagemanager);
  if (fromName !== undefined) return { release: fromName, from: `from the name ${spec.name}` };
  if (spec.packagemanager === 'apt') {
    const sources = await findAptSources(spec).catch(() => undefined);
    for (const file of sources?.files ?? []) {
      const suite = suiteOfSources(await readFile(file, 'utf8').catch(() => ''));
      if (suite)
        return {
          release: suite,
          from: `the suite of ${sources!.origin === 'host' ? "the host's " : ''}${showPath(file)}`,
        };
    }
    return { release: '', from: 'nowhere' };
  }
  const usedBy: string[] = [];
  for (const file of spec.repoFiles)
    if ((await readFile(file, 'utf8').catch(() => '')).includes('$releasever')) usedBy.push(basename(file));
  if (usedBy.length) return { release: '', from: 'nowhere', usedBy };
  return { release: spec.name.replace(/^[^-]*-/, ''), from: 'not used: no .repo file says $releasever' };
}
