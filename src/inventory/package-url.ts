import { PackageURL } from 'packageurl-js';
import type { Manifest } from './manifest.js';
import type { InstalledPackage } from './types.js';

// Apart from sbom.ts, which loads the CycloneDX library (~0.1 s of every command that imported
// it): provenance needs package URLs too, and the SBOM writer is loaded only when an SBOM is written.

/**
 * A package's URL (purl spec): Debian keeps the epoch in the version, RPM moves it to a
 * qualifier; both say the architecture and the distribution (debian-12).
 */
export function packageUrl(
  type: 'deb' | 'rpm',
  m: Pick<Manifest, 'distro'>,
  p: InstalledPackage,
): PackageURL {
  const qualifiers: Record<string, string> = { arch: p.arch, distro: `${m.distro.id}-${m.distro.versionId}` };
  let version = p.version;
  if (type === 'rpm') {
    const epoch = /^(\d+):(.*)$/.exec(version);
    if (epoch) {
      qualifiers.epoch = epoch[1]!;
      version = epoch[2]!;
    }
  }
  if (p.source && p.source !== p.name) qualifiers.upstream = p.source;
  return new PackageURL(type, m.distro.id, p.name, version, qualifiers, undefined);
}
