import { relative, resolve } from 'node:path';
import { cacheLayout } from '../cache/cache.js';
import { withPackageCache } from '../cache/package-cache.js';
import { LockError } from '../errors.js';
import { packageKey, type InstalledPackage } from '../inventory/types.js';
import { lockPath, makeLock, writeLock, type LockedPackage } from '../lock/lock-file.js';
import { querySources } from '../lock/use-lock.js';
import { packageManagerFor } from '../pm/index.js';
import { standalonePmContext } from '../pm/pm-context.js';
import type { Target } from '../stage/types.js';
import { loggerFor } from './events.js';
import { buildOptionsFor, type RepoRequest } from './request.js';
import { buildStagesOf, loadSpec } from './stages.js';

/** Every root a package manager installs into: both flavours' staging, and iso-base under them. */
const LOCKED_TARGETS: readonly Target[] = ['iso-base', 'bootstrap-staging', 'appliance-staging'];

export interface LockedRepo {
  repo: string;
  /** The isobuild.lock written. */
  path: string;
  packages: number;
}

/**
 * `isobuild lock`: builds (or takes from the cache) every root a package manager installs into,
 * and writes repos/REPO/isobuild.lock with each installed package's version, architecture and
 * digest as the sources give it.
 */
export async function lockRepo(request: RepoRequest): Promise<LockedRepo> {
  const logger = loggerFor(request);
  const spec = await loadSpec(request, logger);
  const options = buildOptionsFor(request);
  const pm = packageManagerFor(spec.packagemanager);
  const layout = cacheLayout(resolve(options.cacheRoot));
  const installed = new Map<string, InstalledPackage>();
  const seen = new Set<string>();
  for (const target of LOCKED_TARGETS) {
    const { result } = await buildStagesOf(spec, { target }, options, logger);
    for (const entry of result.entries) {
      // Both flavours build on the same iso-base entry: read it once.
      if (!entry || seen.has(entry.dir)) continue;
      seen.add(entry.dir);
      const ctx = standalonePmContext({
        spec,
        rootfs: entry.rootfs,
        pkgCacheDir: layout.packages,
        tmpDir: layout.tmp,
        stage: 'lock',
        logger,
      });
      for (const p of (await withPackageCache(ctx, () => pm.listInstalled(ctx))) ?? [])
        installed.set(packageKey(p), p);
    }
  }
  const sources = await querySources(spec, options, logger);
  const locked: LockedPackage[] = [];
  const missing: string[] = [];
  for (const p of installed.values()) {
    const found = sources.get(packageKey(p));
    if (found) locked.push({ ...p, sha256: found.sha256 });
    else missing.push(`  ${p.name} ${p.version} (${p.arch})`);
  }
  if (missing.length)
    throw new LockError(
      `the cached build installed ${missing.length} package version(s) the sources no longer provide:\n` +
        `${missing.join('\n')}\n  rebuild with \`isobuild build ${spec.name} --no-cache\` and lock again`,
    );
  const path = lockPath(spec);
  const lock = makeLock(spec, locked);
  await writeLock(path, lock);
  logger.event(
    { type: 'lock', repo: spec.name, path, packages: lock.packages.length },
    `${spec.name}: locked ${lock.packages.length} packages in ${relative(process.cwd(), path) || path}`,
  );
  return { repo: spec.name, path, packages: lock.packages.length };
}
