import { createHash } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { makeOnce, testCacheRoot } from '../helpers/test-cache.js';

/**
 * A small Debian 12 reference root for the minimise tests, made once with mmdebstrap from the
 * host's apt sources and kept as a tarball keyed by the package list in the test cache, so that a
 * test run pays for it once. Each test unpacks its own copy.
 */
export async function referenceRootTarball(packages: readonly string[]): Promise<string> {
  const key = createHash('sha256')
    .update([...packages].sort().join(','))
    .digest('hex')
    .slice(0, 12);
  const tarball = join(testCacheRoot(), 'minimise-test', `debian-12-essential-${key}.tar`);
  return makeOnce(tarball, async (partial) => {
    // mmdebstrap picks the format from the extension.
    await run('mmdebstrap', [
      '--mode=root',
      '--variant=essential',
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      `--include=${packages.join(',')}`,
      'bookworm',
      `${partial}.tar`,
      '/etc/apt/sources.list.d/debian.sources',
    ]);
    await rename(`${partial}.tar`, partial);
  });
}

/** Unpacks the reference root into `dir` (made fresh). */
export async function unpackRoot(tarball: string, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run('tar', ['-C', dir, '--numeric-owner', '-xpf', tarball]);
}
