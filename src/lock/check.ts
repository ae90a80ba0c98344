import { LockError } from '../errors.js';
import { packageKey, type InstalledPackage, type SourceIndex } from '../inventory/types.js';
import type { PackageLock } from './lock-file.js';

const show = (p: { name: string; version: string; arch: string }) => `${p.name} ${p.version} (${p.arch})`;

/**
 * Before any work: every locked package must still be provided by the sources with the
 * digest the lock recorded. Names every one that is not, in one error.
 */
export function checkLockAgainstSources(lock: PackageLock, sources: SourceIndex, lockFile: string): void {
  const problems: string[] = [];
  for (const p of lock.packages) {
    const found = sources.get(packageKey(p));
    if (!found) problems.push(`  ${show(p)}: the sources no longer provide this version`);
    else if (found.sha256 !== p.sha256)
      problems.push(`  ${show(p)}: digest ${found.sha256} in the sources, ${p.sha256} in the lock`);
  }
  if (problems.length)
    throw new LockError(
      `${lockFile} is stale: ${problems.length} locked package(s) cannot be installed as locked:\n` +
        `${problems.join('\n')}\n  run \`isobuild lock ${lock.repo}\` to lock what the sources provide now`,
    );
}

/**
 * After a locked install: what the root's database holds must be what the lock says. A package
 * the lock does not name means the spec asks for more than was locked.
 */
export function checkInstalledAgainstLock(
  installed: readonly InstalledPackage[],
  lock: PackageLock,
  stage: string,
): void {
  const locked = new Map(lock.packages.map((p) => [`${p.name} ${p.arch}`, p]));
  const problems: string[] = [];
  for (const p of installed) {
    const want = locked.get(`${p.name} ${p.arch}`);
    if (!want) problems.push(`  ${show(p)}: not in the lock`);
    else if (want.version !== p.version) problems.push(`  ${show(p)}: the lock says ${want.version}`);
  }
  if (problems.length)
    throw new LockError(
      `the root does not match the lock:\n${problems.join('\n')}\n` +
        `  run \`isobuild lock ${lock.repo}\` after changing the spec`,
    ).atStage(stage);
}
