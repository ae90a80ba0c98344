import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';

/**
 * A small Debian 12 reference root for the minimise tests, made once with mmdebstrap from the
 * host's apt sources and kept as a tarball keyed by the package list (in $ISOBUILD_CACHE or the
 * temp folder), so that a test run pays for it once. Each test unpacks its own copy.
 */
export async function referenceRootTarball(packages: readonly string[]): Promise<string> {
  const cacheDir = join(process.env.ISOBUILD_CACHE ?? join(tmpdir(), 'isobuild-test-cache'), 'minimise-test');
  const key = createHash('sha256')
    .update([...packages].sort().join(','))
    .digest('hex')
    .slice(0, 12);
  const tarball = join(cacheDir, `debian-12-essential-${key}.tar`);
  if (existsSync(tarball)) return tarball;
  await mkdir(cacheDir, { recursive: true });
  await run('mmdebstrap', [
    '--mode=root',
    '--variant=essential',
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    `--include=${packages.join(',')}`,
    'bookworm',
    tarball.replace(/\.tar$/, '.part.tar'), // mmdebstrap picks the format from the extension
    '/etc/apt/sources.list.d/debian.sources',
  ]);
  await rename(tarball.replace(/\.tar$/, '.part.tar'), tarball);
  return tarball;
}

/** Unpacks the reference root into `dir` (made fresh). */
export async function unpackRoot(tarball: string, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run('tar', ['-C', dir, '--numeric-owner', '-xpf', tarball]);
}
