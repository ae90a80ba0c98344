import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { exists } from '../fs/exists.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { sha256 } from '../fs/hash.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** The SHA-256 of a file, streamed (a kernel source is 140 MB). */
export async function digestFile(path: string): Promise<string> {
  const hash = sha256();
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A tarball's digest checked against the spec's `sha256`: a mismatch stops before anything is unpacked. */
export async function checkTarballDigest(
  path: string,
  expected: string | undefined,
  stage: string,
): Promise<string> {
  const digest = await digestFile(path);
  if (expected !== undefined && digest !== expected)
    throw new BuildError(
      `kernel source ${path}: sha256 is ${digest}, the spec's kernel.sha256 says ${expected}: ` +
        'download the tarball again, or fix the digest in the spec',
      stage,
    );
  return digest;
}

/**
 * Unpack a kernel source into `dir/src` once (a marker file says it is whole): from a
 * linux-source-X .deb, the tarball it ships under /usr/src; else the tarball itself. The
 * top folder of the tarball (linux-source-6.1/, linux-6.1.119/) is stripped, so the tree's
 * path is the same whichever name the source had.
 */
export async function unpackKernelSource(
  file: string,
  dir: string,
  run: Runner,
  tmpDir: string,
): Promise<string> {
  const src = join(dir, 'src');
  const marker = join(dir, 'src.complete');
  if (await exists(marker)) return src;
  await rm(src, { recursive: true, force: true });
  const partial = join(dir, 'src.partial');
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  let tarball = file;
  if (file.endsWith('.deb')) tarball = await tarballOfDeb(file, run, tmpDir);
  await run('tar', ['-xf', tarball, '-C', partial, '--strip-components=1', '--no-same-owner']);
  if (!(await exists(join(partial, 'Makefile'))) || !(await exists(join(partial, 'scripts/kconfig'))))
    throw new BuildError(`${file}: no kernel source tree inside (no top-level Makefile and scripts/kconfig)`);
  await rename(partial, src);
  await writeFile(marker, `${file}\n`);
  return src;
}

/** linux-source-6.1_*.deb holds /usr/src/linux-source-6.1.tar.xz: take it out to tmpDir. */
async function tarballOfDeb(deb: string, run: Runner, tmpDir: string): Promise<string> {
  const out = join(tmpDir, 'deb');
  await mkdir(out, { recursive: true });
  await run('dpkg-deb', ['-x', deb, out]);
  const usrSrc = join(out, 'usr/src');
  const names = (await readdir(usrSrc).catch(() => [] as string[])).filter((n) => /\.tar(\.\w+)?$/.test(n));
  if (names.length !== 1)
    throw new BuildError(
      `${deb}: expected one kernel source tarball in /usr/src, found ${names.length ? names.join(', ') : 'none'}: ` +
        'give a linux-source-X package (not linux-headers or linux-image)',
    );
  return join(usrSrc, names[0]!);
}
