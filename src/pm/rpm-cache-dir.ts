import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { digestSources } from './lists-age.js';
import type { PmContext } from './types.js';

/**
 * The RPM managers' folder in the package cache every repo shares: one per set of repository
 * definitions (the .repo files' text, the release and `--mirror`). tdnf and yum keep a
 * repository's metadata and packages under its id alone, and repos of other releases name the
 * same ids with other URLs (photon-2.0's and photon-3.0's [photon]): one folder for both would
 * hand one release the other's metadata. Repos with the same definitions (a near-copy) share it.
 */
export async function rpmCacheDir(ctx: Pick<PmContext, 'spec' | 'pkgCacheDir' | 'mirror'>): Promise<string> {
  const definitions = await digestSources(ctx.spec.repoFiles);
  const digest = createHash('sha256')
    .update(JSON.stringify([definitions, ctx.spec.release, ctx.mirror ?? null]))
    .digest('hex');
  return join(ctx.pkgCacheDir, 'rpm', digest.slice(0, 16));
}
