import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { cacheLayout } from '../pipeline/cache.js';
import { removeTree } from '../pipeline/fs-tree.js';
import { acquireLock } from '../pipeline/lock.js';
import { defaultBuildOptions } from '../pipeline/plan.js';
import { loggerFor, type GlobalOptions } from './context.js';

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description("remove cached stage results (a repo's, or all); --packages also drops downloaded packages")
    .argument('[repo]', 'repo name (default: every repo)')
    .option('--packages', 'also remove the package cache')
    .action(async (repo: string | undefined, flags: { packages?: boolean }, cmd: Command) => {
      const logger = loggerFor(cmd.optsWithGlobals<GlobalOptions>());
      const layout = cacheLayout(resolve(defaultBuildOptions().cacheRoot));
      if (repo !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(repo))
        throw new UsageError(`"${repo}" is not a repo name`);
      if (repo === undefined) {
        await removeTree(layout.root);
        logger.info(`removed ${layout.root}`);
        return;
      }
      // Never pull a cache out from under a running build of the same repo.
      const lock = await acquireLock(layout.locks, repo, 0, logger);
      try {
        const dirs = [
          layout.stages(repo),
          layout.logs(repo),
          ...(flags.packages ? [layout.packages(repo)] : []),
        ];
        for (const dir of dirs) await removeTree(dir);
        logger.info(`removed the cache of ${repo}${flags.packages ? ' and its packages' : ''}`);
      } finally {
        await lock.release();
      }
    });
}
