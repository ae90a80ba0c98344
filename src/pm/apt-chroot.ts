import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  readFile,
  readdir,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { FIXED_PATH } from '../hooks/hook-env.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { LOCK_PINS, makeAptPins } from './apt-pins.js';
import type { PmContext } from './types.js';

/** Inside-root folders apt keeps downloads in, and their place in the package cache. */
export const APT_CACHE_DIRS = [
  { inRoot: '/var/cache/apt/archives', inCache: 'apt/archives', match: (n: string) => n.endsWith('.deb') },
  { inRoot: '/var/lib/apt/lists', inCache: 'apt/lists', match: (n: string) => n !== 'lock' },
] as const;

/** Proxy settings are the only part of the caller's environment apt inside the root may need. */
const PASSED_THROUGH = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];

/** The fixed environment of apt-get and dpkg (and so of maintainer scripts) in the root. */
export function makeAptEnv(sourceDateEpoch: number | undefined, env = process.env): Record<string, string> {
  const out: Record<string, string> = {
    PATH: FIXED_PATH,
    HOME: '/root',
    LC_ALL: 'C',
    DEBIAN_FRONTEND: 'noninteractive',
    DEBCONF_NONINTERACTIVE_SEEN: 'true',
    // isobuild makes its own initrd: Debian's kernel hooks must not spend a minute on one.
    INITRD: 'No',
  };
  if (sourceDateEpoch !== undefined) out.SOURCE_DATE_EPOCH = String(sourceDateEpoch);
  for (const name of PASSED_THROUGH) {
    const v = env[name];
    if (v) out[name] = v;
  }
  return out;
}

/**
 * Run `fn` with the root ready for apt-get and chrooted dpkg, and undo everything afterwards,
 * even when it fails: /proc mounted (maintainer scripts read it), a policy-rc.d that stops
 * packages from starting daemons on the build host, and the package cache hard-linked in and
 * the new downloads linked back out, so a second build fetches nothing.
 */
export async function withAptChroot<T>(ctx: PmContext, fn: () => Promise<T>): Promise<T> {
  const root = ctx.rootfs;
  const undo: Array<() => Promise<void>> = [];
  try {
    undo.push(
      await replaceFile(
        root,
        '/usr/sbin/policy-rc.d',
        '#!/bin/sh\n# isobuild: no daemons\nexit 101\n',
        0o755,
      ),
    );
    if (ctx.lock)
      undo.push(await replaceFile(root, `/etc/apt/preferences.d/${LOCK_PINS}`, makeAptPins(ctx.lock), 0o644));
    for (const dir of APT_CACHE_DIRS) {
      const inRoot = await resolveInRoot(root, dir.inRoot);
      const inCache = join(ctx.pkgCacheDir, dir.inCache);
      await mkdir(join(inRoot, 'partial'), { recursive: true });
      await mkdir(inCache, { recursive: true });
      await linkFiles(inCache, inRoot, dir.match, false);
      undo.push(async () => void (await linkFiles(inRoot, inCache, dir.match, true)));
    }
    const proc = await resolveInRoot(root, '/proc');
    await mkdir(proc, { recursive: true });
    await ctx.run('mount', ['-t', 'proc', 'proc', proc]);
    undo.push(async () => {
      const res = await ctx.run('umount', [proc], { allowFailure: true });
      if (res.exitCode !== 0) await ctx.run('umount', ['--lazy', proc]);
    });
    return await fn();
  } finally {
    for (const step of undo.reverse()) await step();
  }
}

/** Write a file in the root and return how to put back what was there. */
async function replaceFile(
  root: string,
  path: string,
  content: string,
  mode: number,
): Promise<() => Promise<void>> {
  const host = await resolveInRoot(root, path, false);
  const before = await readFile(host).catch(() => undefined);
  const beforeMode = before !== undefined ? (await lstat(host)).mode & 0o7777 : undefined;
  await mkdir(join(host, '..'), { recursive: true });
  await rm(host, { force: true });
  await writeFile(host, content, { mode });
  await chmod(host, mode);
  return async () => {
    await rm(host, { force: true });
    if (before !== undefined) {
      await writeFile(host, before);
      await chmod(host, beforeMode ?? mode);
    }
  };
}

/**
 * Hard-link the plain files of `from` into `to` (a copy across file systems). With `replace`,
 * files that differ from what `to` holds win: apt rewrites a list file by renaming a new one
 * over it, so a changed list is a new inode.
 */
export async function linkFiles(
  from: string,
  to: string,
  match: (name: string) => boolean,
  replace: boolean,
): Promise<number> {
  let count = 0;
  for (const entry of await readdir(from, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile() || !match(entry.name)) continue;
    const src = join(from, entry.name);
    const dest = join(to, entry.name);
    const destStat = await lstat(dest).catch(() => undefined);
    if (destStat) {
      if (!replace || destStat.ino === (await lstat(src)).ino) continue;
      await unlink(dest);
    }
    try {
      await link(src, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(src, dest);
    }
    count++;
  }
  return count;
}
