/** One installed package, as the root's own package database records it. */
export interface InstalledPackage {
  readonly name: string;
  /** The full version: Debian's [epoch:]upstream-revision, RPM's [epoch:]version-release. */
  readonly version: string;
  readonly arch: string;
  /** The source package (Debian's Source:, RPM's SOURCERPM without .src.rpm), when it differs or is known. */
  readonly source?: string;
  /** Where the package came from (Debian: "Origin codename/component"; RPM: the repo id). */
  readonly origin?: string;
  /** sha256 of the package file (.deb/.rpm) as the sources provide it, when known. */
  readonly sha256?: string;
}

/** What identifies a package in a lock or a diff: name, exact version and architecture. */
export type PackageId = Pick<InstalledPackage, 'name' | 'version' | 'arch'>;

export function packageKey(p: PackageId): string {
  return `${p.name} ${p.version} ${p.arch}`;
}

export function comparePackages(a: PackageId, b: PackageId): number {
  return compareText(a.name, b.name) || compareText(a.arch, b.arch) || compareText(a.version, b.version);
}

/** Byte order, never the locale's: the same list sorts the same on every host. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One entry of a root (the initrd's files), for manifests and diffs. */
export interface FileRecord {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'link' | 'other';
  readonly mode: string;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
}

/** What the sources say about one package version. */
export interface SourcePackage {
  readonly sha256: string;
  /** Where it comes from (Debian: "Origin codename/component"; RPM: the repo id). */
  readonly origin: string;
}

/** `name version arch` (packageKey) → what the sources provide: apt's lists, dnf's repodata. */
export type SourceIndex = Map<string, SourcePackage>;

/**
 * What the root's package database says each package installed: path (as the package lists
 * it, before /bin → /usr/bin links in the root) → the packages that list it, sorted.
 */
export type PackageFiles = ReadonlyMap<string, readonly string[]>;

/** Adds one `path` of package `name` to a map being built (packages sorted when it is done). */
export function addPackageFile(files: Map<string, string[]>, path: string, name: string): void {
  const owners = files.get(path);
  if (!owners) files.set(path, [name]);
  else if (!owners.includes(name)) owners.push(name);
}

/** Path → the first package listing it: one owner per path, what size attributions count by. */
export function firstOwners(files: PackageFiles): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [path, names] of files) if (names[0]) owners.set(path, names[0]);
  return owners;
}
