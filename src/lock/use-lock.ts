import { mkdtemp, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LockError } from '../errors.js';
import type { InstalledPackage, SourceIndex } from '../inventory/types.js';
import type { Logger } from '../log/logger.js';
import { cacheLayout } from '../cache/cache.js';
import { withPackageCache } from '../cache/package-cache.js';
import { removeTree } from '../fs/fs-tree.js';
import type { BuildOptions, StageContext } from '../stage/types.js';
import { packageManagerFor } from '../pm/index.js';
import { packageManagerOf, pmContextOf, standalonePmContext, type PackageInputs } from '../pm/pm-context.js';
import type { ResolvedSpec } from '../spec/types.js';
import { checkInstalledAgainstLock, checkLockAgainstSources } from './check.js';
import { lockPath, readLock, staleReason, type PackageLock } from './lock-file.js';

/** Asks the spec's sources what they provide now, in a scratch folder under the cache. */
export async function querySources(
  spec: ResolvedSpec,
  options: Pick<BuildOptions, 'cacheRoot' | 'sourceDateEpoch'>,
  logger: Logger,
): Promise<SourceIndex> {
  const layout = cacheLayout(resolve(options.cacheRoot));
  await mkdir(layout.tmp, { recursive: true });
  const tmpDir = await mkdtemp(join(layout.tmp, `${spec.name}-sources-`));
  try {
    const ctx = standalonePmContext({
      spec,
      rootfs: join(tmpDir, 'root'),
      pkgCacheDir: layout.packagesFor(spec.arch),
      tmpDir,
      stage: 'sources',
      sourceDateEpoch: options.sourceDateEpoch,
      logger,
    });
    return await withPackageCache(ctx, () => packageManagerFor(spec.packagemanager).querySources(ctx));
  } finally {
    await removeTree(tmpDir);
  }
}

/**
 * `build --locked`, before any work: the lock must exist, match the spec, and every locked
 * version must still come from the sources with its recorded digest.
 */
export async function loadLockForBuild(
  spec: ResolvedSpec,
  options: Pick<BuildOptions, 'cacheRoot' | 'sourceDateEpoch'>,
  logger: Logger,
): Promise<PackageLock> {
  const file = lockPath(spec);
  const lock = await readLock(file);
  if (!lock)
    throw new LockError(`--locked: ${file} does not exist; run \`isobuild lock ${spec.name}\` first`);
  const stale = staleReason(spec, lock);
  if (stale) throw new LockError(`${file} is stale: ${stale}; run \`isobuild lock ${spec.name}\``);
  logger.info(`checking ${lock.packages.length} locked packages against the sources`);
  checkLockAgainstSources(lock, await querySources(spec, options, logger), file);
  return lock;
}

/** After a package stage installed under a lock: the root must hold exactly the locked versions. */
export async function checkRootAgainstLock(ctx: StageContext, inputs: PackageInputs): Promise<void> {
  const lock = inputs.lock;
  if (!lock) return;
  const installed: InstalledPackage[] | undefined = await packageManagerOf(inputs).listInstalled(
    pmContextOf(ctx, inputs),
  );
  checkInstalledAgainstLock(installed ?? [], lock, ctx.stage);
}
