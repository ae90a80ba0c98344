import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileWhole } from '../fs/replace-file.js';
import { LockError } from '../errors.js';
import { sha256 } from '../fs/hash.js';
import type { PackageManagerName, ResolvedSpec } from '../spec/types.js';
import { comparePackages, packageKey, type PackageId } from '../inventory/types.js';

export const LOCK_FILE = 'isobuild.lock';
export const LOCK_VERSION = 1;

export interface LockedPackage extends PackageId {
  /** sha256 of the package file, as the sources list it. */
  readonly sha256: string;
}

/** repos/<repo>/isobuild.lock: every package any flavour installs, for apt and the RPM managers alike. */
export interface PackageLock {
  readonly lockVersion: typeof LOCK_VERSION;
  readonly repo: string;
  readonly packagemanager: PackageManagerName;
  readonly release: string;
  /** Digest of the spec fields that decide which packages are installed; `plan` compares it. */
  readonly specDigest: string;
  readonly packages: readonly LockedPackage[];
}

export function lockPath(spec: ResolvedSpec): string {
  return join(spec.repoDir, LOCK_FILE);
}

/** The spec fields whose change makes a lock stale (not hooks: they may install things, but rarely). */
export function specDigest(spec: ResolvedSpec): string {
  return sha256()
    .update(
      JSON.stringify({
        packagemanager: spec.packagemanager,
        release: spec.release,
        kernel: spec.kernel.kind === 'package' ? spec.kernel.name : null,
        packages: spec.packages,
        stagingScript: spec.stagingScript,
      }),
    )
    .digest('hex');
}

export function makeLock(spec: ResolvedSpec, packages: readonly LockedPackage[]): PackageLock {
  const unique = new Map(packages.map((p) => [packageKey(p), p]));
  return {
    lockVersion: LOCK_VERSION,
    repo: spec.name,
    packagemanager: spec.packagemanager,
    release: spec.release,
    specDigest: specDigest(spec),
    packages: [...unique.values()]
      .sort(comparePackages)
      .map(({ name, version, arch, sha256 }) => ({ name, version, arch, sha256 })),
  };
}

export function formatLock(lock: PackageLock): string {
  return JSON.stringify(lock, null, 2) + '\n';
}

export async function writeLock(file: string, lock: PackageLock): Promise<void> {
  await writeFileWhole(file, formatLock(lock));
}

/** Reads and checks a lock file; undefined when there is none. */
export async function readLock(file: string): Promise<PackageLock | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LockError(`${file}: not JSON (${(err as Error).message}); run isobuild lock again`);
  }
  const lock = raw as Partial<PackageLock>;
  if (lock.lockVersion !== LOCK_VERSION || !Array.isArray(lock.packages))
    throw new LockError(`${file}: not an isobuild lock (lockVersion ${LOCK_VERSION} with packages)`);
  lock.packages.forEach((p, i) => {
    for (const field of ['name', 'version', 'arch', 'sha256'] as const)
      if (typeof p?.[field] !== 'string' || !p[field])
        throw new LockError(`${file} /packages/${i}/${field}: must be a non-empty string`);
  });
  return lock as PackageLock;
}

/** Why a lock no longer describes the spec, or undefined when it still does. */
export function staleReason(spec: ResolvedSpec, lock: PackageLock): string | undefined {
  if (lock.packagemanager !== spec.packagemanager)
    return `it was written for ${lock.packagemanager}, the spec says ${spec.packagemanager}`;
  if (lock.release !== spec.release)
    return `it was written for release ${lock.release}, the spec says ${spec.release}`;
  if (lock.specDigest !== specDigest(spec))
    return 'the spec’s packages, kernel or staging scripts changed since it was written';
  return undefined;
}
