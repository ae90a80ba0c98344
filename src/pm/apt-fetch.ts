import { link, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../exec/run.js';
import { BuildError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { APT_CACHE_DIRS, makeAptEnv } from './apt-chroot.js';
import { aimedAptSources } from './apt-sources.js';
import { writeStandaloneAptConfig } from './apt-standalone.js';
import { checkPackageArgs } from './apt.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import type { PmContext } from './types.js';

/**
 * What fetchAptDebs runs, for the stages that call it to declare. Versions: none, since which
 * .deb comes is the lists' answer, and its name is in the stage's log.
 */
export const APT_FETCH_COMMANDS: readonly DeclaredTool[] = [
  { tool: 'apt-cache', reason: 'check each package is in the sources', version: 'none' },
  { tool: 'apt-get', reason: 'fetch missing lists and download the packages', version: 'none' },
];

/** What fetchAptTree runs on top of fetchAptDebs's commands. */
export const APT_TREE_COMMANDS: readonly DeclaredTool[] = [
  ...APT_FETCH_COMMANDS,
  {
    tool: 'dpkg-deb',
    reason: "unpack the fetched packages' files (no maintainer scripts)",
    version: ['--version'],
  },
];

/**
 * fetchAptDebs, then each .deb's files unpacked into `tree` (dpkg-deb -x: no maintainer
 * scripts, no dpkg database): files of the target's own packages the build uses from outside
 * the root, such as another architecture's GRUB modules or static busybox. Returns the .debs.
 */
export async function fetchAptTree(
  ctx: PmContext,
  names: readonly string[],
  tree: string,
): Promise<string[]> {
  const debs = await fetchAptDebs(ctx, names);
  await mkdir(tree, { recursive: true });
  for (const deb of debs) await ctx.run('dpkg-deb', ['-x', deb, tree]);
  return debs;
}

/**
 * Downloads named packages (no dependencies) into the package cache's archives with an apt
 * that reads no root: the bootstrap's sources and keys and the package cache's lists, as
 * iso-base's kernel download does. Lists missing from the cache (a cleaned cache) are fetched
 * first. Returns the .deb files, in the order asked. The caller holds the package cache's lock.
 */
export async function fetchAptDebs(ctx: PmContext, names: readonly string[]): Promise<string[]> {
  checkPackageArgs(names);
  const { env, archives } = await standaloneApt(ctx, join(ctx.tmpDir, 'apt-fetch'));
  const show = (pkg: string) =>
    ctx.run('apt-cache', ['show', '--no-all-versions', pkg], { env, cleanEnv: true, allowFailure: true });
  const debNames: string[] = [];
  for (const pkg of names) {
    let res = await show(pkg);
    if (res.exitCode !== 0) {
      await ctx.run('apt-get', ['update'], { env, cleanEnv: true });
      res = await show(pkg);
    }
    const pool = downloadName(pkg, res.stdout);
    if (res.exitCode !== 0 || !pool)
      throw new BuildError(
        `apt-cache show ${pkg}: not in the repo's sources (${res.stderr.trim()})`,
        ctx.stage,
      );
    debNames.push(pool);
  }
  // apt-get download works in a folder of its own, renamed in: a bootstrap's sync-in must
  // never see half a file.
  const staging = await mkdtemp(join(dirname(archives), 'deb-download-'));
  try {
    const files: string[] = [];
    for (const [i, pkg] of names.entries()) {
      const name = debNames[i]!;
      const file = join(archives, name);
      const staged = join(staging, name);
      if (await exists(file)) await link(file, staged); // kept by apt-get when its hashes match
      await ctx.run('apt-get', ['download', pkg], { env, cleanEnv: true, cwd: staging });
      if (!(await exists(staged)))
        throw new BuildError(`apt-get download ${pkg}: no ${name} in ${staging}`, ctx.stage);
      await rename(staged, file);
      files.push(file);
    }
    return files;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The environment of an apt that reads no root: the bootstrap's sources and keys, the package
 * cache's lists and archives, its configuration under `work`.
 */
async function standaloneApt(
  ctx: Pick<PmContext, 'spec' | 'pkgCacheDir' | 'sourceDateEpoch'>,
  work: string,
): Promise<{ env: Record<string, string>; archives: string }> {
  const sources = await aimedAptSources(ctx.spec, join(work, 'aimed'));
  const lists = join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache);
  const archives = join(ctx.pkgCacheDir, APT_CACHE_DIRS[0].inCache);
  await mkdir(lists, { recursive: true });
  await mkdir(archives, { recursive: true });
  const config = await writeStandaloneAptConfig(work, {
    sources: sources.files,
    gpgKeys: ctx.spec.gpgKeys,
    lists,
    archives,
    arch: ctx.spec.arch,
  });
  return { env: { ...makeAptEnv(ctx.sourceDateEpoch), APT_CONFIG: config }, archives };
}

/**
 * The version fetchAptDebs would download of each package (apt-cache show's candidate), read
 * from the package cache's lists as they are, with no update: null for a package the lists do
 * not have (none fetched yet). For cache keys: a new version in the lists is a new key.
 */
export async function aptCandidateVersions(
  ctx: Pick<PmContext, 'spec' | 'pkgCacheDir'>,
  names: readonly string[],
): Promise<Record<string, string | null>> {
  checkPackageArgs(names);
  const work = await mkdtemp(join(tmpdir(), 'isobuild-apt-candidates-'));
  try {
    const { env } = await standaloneApt({ ...ctx, sourceDateEpoch: undefined }, work);
    const out: Record<string, string | null> = {};
    for (const pkg of names) {
      const res = await run('apt-cache', ['show', '--no-all-versions', pkg], {
        env,
        cleanEnv: true,
        allowFailure: true,
      });
      out[pkg] = (res.exitCode === 0 && /^Version: (\S+)$/m.exec(res.stdout)?.[1]) || null;
    }
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The file name apt-get download gives a package, from its apt-cache show record: the pool's
 * name has no epoch, apt-get's has it with the colon escaped (busybox-static_1%3a1.35.0-4_arm64.deb).
 */
export function downloadName(pkg: string, record: string): string | undefined {
  const version = /^Version: (\S+)$/m.exec(record)?.[1];
  const arch = /^Architecture: (\S+)$/m.exec(record)?.[1];
  if (!version || !arch) return undefined;
  return `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}
