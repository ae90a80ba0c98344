import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log/logger.js';
import { acquireLock, type Lock } from './lock.js';

/**
 * Run `fn`, which reads or writes the package cache, while no other build does. Every repo
 * shares one package cache (a .deb is the same file whichever repo asked for it), and the
 * package managers were not written for two of them on one cache folder: mmdebstrap's sync-out
 * copies over files in place, apt-get update replaces lists a second bootstrap may be syncing
 * in, dnf keeps one metadata folder per repo id. Builds of one repo are already one at a time
 * (their repo lock); this lock orders the package steps of different repos. It lives beside
 * the cache (`package-cache.lock`), so a cache copied or moved takes no stale lock along inside it.
 * A build waits as long as it takes (another repo's bootstrap is minutes, not a conflict); Ctrl-C stops it.
 */
export async function withPackageCache<T>(
  ctx: { readonly pkgCacheDir: string; readonly logger: Logger },
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(ctx.pkgCacheDir, { recursive: true });
  const lock = await lockPackageCache(ctx.pkgCacheDir, Infinity, ctx.logger);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** The package cache's lock (`clean --packages` takes it too, not waiting unless told). */
export function lockPackageCache(pkgCacheDir: string, timeoutSeconds: number, logger: Logger): Promise<Lock> {
  return acquireLock(
    dirname(pkgCacheDir),
    basename(pkgCacheDir),
    timeoutSeconds,
    logger,
    'build using the package cache',
  );
}
