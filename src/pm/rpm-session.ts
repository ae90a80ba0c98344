import { copyFile, mkdir, mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { BuildError } from '../errors.js';
import { showPath } from '../spec/document.js';
import { HOST_YUM_REPOS } from './rpm-repo-files.js';
import type { PmSpec } from './types.js';
import { renderRpmConfig, rootCacheDir, type RpmTool } from './rpm-config.js';
import { RPM_ENV, writeRpmMacros } from './rpm-db.js';
import type { RpmFrontend } from './rpm-frontend.js';
import { rewriteBaseurls, type MirrorRewrite } from './rpm-mirror.js';
import { aimRepoFileAtBundle } from './rpm-bundle-repos.js';

/**
 * Everything one front-end run needs, written fresh into the stage's scratch space each
 * time: the root may have been set up by an earlier stage with another scratch folder, and
 * nothing from the host's /etc/dnf, /etc/yum.repos.d or /etc/rpm may leak in.
 */
export interface RpmSession {
  /** Arguments before the subcommand. */
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  /** Scratch folder of this run (config, repos, HOME, logs). */
  readonly dir: string;
}

/** Which cache a run uses: the persistent per-repo one, or the root's own (for `clean all`). */
export type CacheChoice = 'persistent' | 'root';

export interface SessionInputs {
  spec: PmSpec;
  rootfs: string;
  pkgCacheDir: string;
  tmpDir: string;
  frontend: RpmFrontend;
  cache: CacheChoice;
  sourceDateEpoch?: number;
  /** package_lists_max_age in seconds (dnf's and yum's metadata_expire). */
  listsMaxAge?: number;
  /** build --mirror: the repo files' baseurls moved onto the mirror for this run (the root's copy keeps them). */
  mirror?: MirrorRewrite;
  /** build --from-bundle: the restored bundle whose repositories stand in for the baseurls (the root's copy keeps them). */
  bundle?: string;
}

/**
 * dnf and yum always put cachedir, logdir and persistdir under the installroot, even when the path
 * comes from --config or --setopt. A path that climbs out of the root with '..' reaches
 * the host folder without bind mounts or links left in the root. Real paths on both
 * sides, so a symlinked build folder cannot make the '..' land elsewhere.
 */
export function pathOutOfRoot(realRoot: string, realTarget: string): string {
  return '/' + relative(realRoot, realTarget);
}

/** The arguments before the subcommand, for one tool. Paths are host paths. */
export function buildFrontendArgs(
  tool: RpmTool,
  o: { root: string; config: string; reposDir: string; releasever: string; tdnfCacheDir?: string },
): string[] {
  const common = ['-c', o.config, `--installroot=${o.root}`, `--releasever=${o.releasever}`];
  // reposdir on the command line: dnf would otherwise prefer a same-named folder in the root.
  const repos = `--setopt=reposdir=${o.reposDir}`;
  if (tool === 'tdnf') {
    // tdnf 3 prefixes cachedir with the installroot unless it comes from --setopt.
    const cache = o.tdnfCacheDir ? [`--setopt=cachedir=${o.tdnfCacheDir}`] : [];
    return [...common, repos, ...cache, '--assumeyes'];
  }
  return [...common, repos, '--noplugins', '--assumeyes'];
}

export async function openRpmSession(i: SessionInputs): Promise<RpmSession> {
  const { tool } = i.frontend;
  await mkdir(i.tmpDir, { recursive: true });
  const dir = await mkdtemp(join(i.tmpDir, `${tool}-`));
  const reposDir = join(dir, 'yum.repos.d');
  const logDir = join(dir, 'log');
  const persistDir = join(dir, 'persist');
  const home = join(dir, 'home');
  await Promise.all([mkdir(reposDir), mkdir(logDir), mkdir(persistDir), writeRpmMacros(home, i.spec)]);
  if (!i.spec.repoFiles.length)
    throw new BuildError(
      `${tool}: no repositories: ${showPath(i.spec.repoDir)} has no *.repo file and the host's ${HOST_YUM_REPOS} has none`,
    );
  for (const repoFile of i.spec.repoFiles) {
    const dest = join(reposDir, basename(repoFile));
    if (i.bundle) await writeFile(dest, aimRepoFileAtBundle(await readFile(repoFile, 'utf8'), i.bundle));
    else if (i.mirror) await writeFile(dest, rewriteBaseurls(await readFile(repoFile, 'utf8'), i.mirror));
    else await copyFile(repoFile, dest);
  }

  await mkdir(i.pkgCacheDir, { recursive: true });
  const realRoot = await realpath(i.rootfs);
  const realCache = await realpath(i.pkgCacheDir);
  const realLog = await realpath(logDir);
  const realPersist = await realpath(persistDir);
  const rootCache = join(realRoot, rootCacheDir(tool));

  let cacheDir: string;
  let tdnfCacheDir: string | undefined;
  if (tool === 'tdnf') {
    cacheDir = i.cache === 'persistent' ? realCache : rootCache;
    tdnfCacheDir = cacheDir;
  } else {
    cacheDir = i.cache === 'persistent' ? pathOutOfRoot(realRoot, realCache) : rootCacheDir(tool);
  }
  const config = join(dir, `${tool}.conf`);
  await writeFile(
    config,
    renderRpmConfig(
      tool,
      {
        reposDir,
        cacheDir,
        logDir: tool === 'tdnf' ? realLog : pathOutOfRoot(realRoot, realLog),
        // tdnf keeps its own state where its config says; whether it prefixes the root is untested here.
        persistDir: tool === 'tdnf' ? undefined : pathOutOfRoot(realRoot, realPersist),
      },
      { docs: i.spec.docs, metadataExpire: i.listsMaxAge },
    ),
  );
  return {
    dir,
    args: buildFrontendArgs(tool, {
      root: realRoot,
      config,
      reposDir,
      releasever: i.spec.release,
      tdnfCacheDir,
    }),
    env: {
      ...RPM_ENV,
      HOME: home,
      ...(i.sourceDateEpoch !== undefined ? { SOURCE_DATE_EPOCH: String(i.sourceDateEpoch) } : {}),
    },
  };
}
