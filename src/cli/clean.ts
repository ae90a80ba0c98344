import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { writeEvent } from '../log/events.js';
import type { Logger } from '../log/logger.js';
import { cacheLayout, type CacheLayout } from '../cache/cache.js';
import { removeTree } from '../fs/fs-tree.js';
import { acquireLock } from '../cache/lock.js';
import { lockPackageCache } from '../cache/package-cache.js';
import { defaultBuildOptions } from '../pipeline/build-options.js';
import { showPath } from '../spec/document.js';
import { listRepoFolders } from '../spec/load.js';
import { findNearest } from '../spec/suggest.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

interface CleanFlags {
  packages?: boolean;
  lockTimeout: string;
}

async function subfolders(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

/** Repos that have something in the cache: stages, logs, and with --packages, downloads. */
async function cachedRepos(layout: CacheLayout, packages: boolean): Promise<string[]> {
  const names = [
    ...(await subfolders(layout.allStages)),
    ...(await subfolders(resolve(layout.root, 'logs'))),
  ];
  // Package caches of one repo each, from before they were shared.
  if (packages) names.push(...(await subfolders(layout.oldPackages)));
  return [...new Set(names)].sort();
}

/** A repo the user names must exist, as a repo folder or in the cache: a typo must not "succeed". */
async function checkKnownRepo(repo: string, layout: CacheLayout, repos: string): Promise<void> {
  const folders = (await listRepoFolders(repos).catch(() => [])).map((f) => basename(f));
  const known = [...new Set([...folders, ...(await cachedRepos(layout, true))])];
  if (known.includes(repo)) return;
  const near = findNearest(repo, known);
  throw new UsageError(
    `no repo "${repo}" in ${showPath(repos)} or in the cache` +
      (near ? ` (did you mean "${near}"?)` : known.length ? ` (repos: ${known.join(', ')})` : ''),
  );
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** The package cache every repo shares, once no build is using it, and the old per-repo ones' folder. */
async function removeSharedPackages(
  layout: CacheLayout,
  lockTimeout: number,
  logger: Logger,
): Promise<string[]> {
  const removed: string[] = [];
  const lock = await lockPackageCache(layout.packages, lockTimeout, logger);
  try {
    for (const dir of [layout.packages, layout.oldPackages]) {
      if (!(await exists(dir))) continue;
      await removeTree(dir);
      removed.push(dir);
    }
  } finally {
    await lock.release();
  }
  return removed;
}

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description(
      "remove cached stage results and logs (a repo's, or every repo's); downloaded packages (shared by every repo) stay unless --packages without a repo",
    )
    .argument('[repo]', 'repo name (default: every repo in the cache)')
    .option(
      '--packages',
      'also remove the downloaded packages (the next build downloads them again); with a repo, only its package cache from before they were shared',
    )
    .option('--lock-timeout <seconds>', 'how long to wait for a running build of the repo', '0')
    .action(async (repo: string | undefined, flags: CleanFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const layout = cacheLayout(resolve(defaultBuildOptions().cacheRoot));
      const lockTimeout = Number(flags.lockTimeout);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
        throw new UsageError('--lock-timeout takes seconds');
      if (repo !== undefined) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(repo)) throw new UsageError(`"${repo}" is not a repo name`);
        await checkKnownRepo(repo, layout, reposDir(globals));
      }
      const packages = flags.packages ?? false;
      const removed: string[] = [];
      for (const name of repo !== undefined ? [repo] : await cachedRepos(layout, packages)) {
        // The same lock a build takes: never pull a cache out from under a running build.
        const lock = await acquireLock(layout.locks, name, lockTimeout, logger);
        try {
          const dirs = [
            layout.stages(name),
            layout.logs(name),
            ...(packages ? [join(layout.oldPackages, name)] : []),
          ];
          for (const dir of dirs) {
            if (!(await exists(dir))) continue;
            await removeTree(dir);
            removed.push(dir);
          }
        } finally {
          await lock.release();
        }
      }
      if (packages && repo === undefined)
        removed.push(...(await removeSharedPackages(layout, lockTimeout, logger)));
      else if (packages)
        logger.info(
          `the package cache ${showPath(layout.packages)} is shared by every repo: kept (\`isobuild clean --packages\` removes it)`,
        );
      if (globals.json) writeEvent({ type: 'clean', repo: repo ?? null, removed, packages });
      else if (!removed.length) logger.info(`nothing cached${repo ? ` for ${repo}` : ''}`);
      else for (const dir of removed) logger.info(`removed ${showPath(dir)}`);
    });
}
