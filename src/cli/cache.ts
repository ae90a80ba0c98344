import type { Command } from 'commander';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { measureTree } from '../fs/measure-tree.js';
import type { Logger } from '../log/logger.js';
import { checkEntry } from '../cache/cache-integrity.js';
import { cacheLayout, type CacheLayout } from '../cache/cache.js';
import { removeTree } from '../fs/fs-tree.js';
import { acquireLock, type Lock } from '../cache/lock.js';
import { cacheRoot, loggerFor, type GlobalOptions } from './context.js';

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `isobuild cache verify` and `isobuild cache gc` (docs/cache.md). */
export function registerCache(program: Command): void {
  const cache = program.command('cache').description('check and trim the stage cache');
  cache
    .command('verify')
    .description('reread every cached stage and compare it with its manifest; exit 1 if one is damaged')
    .argument('[repo]', 'repo name (default: every repo)')
    .option('--drop', 'remove the damaged entries')
    .action(async (repo: string | undefined, flags: { drop?: boolean }, cmd: Command) => {
      const logger = loggerFor(cmd.optsWithGlobals<GlobalOptions>());
      const bad = await verifyCache(cacheLayout(cacheRoot()), repo, flags.drop ?? false, logger);
      if (bad > 0) {
        if (!flags.drop) logger.info('run `isobuild cache verify --drop` to remove them');
        process.exitCode = 1;
      }
    });
  cache
    .command('gc')
    .description('remove the least recently used stages until the cache fits a size')
    .option('--max-size <size>', 'size the stage cache may keep (K, M, G, T suffixes)', '20G')
    .option('--dry-run', 'print what would be removed and the size freed; remove nothing')
    .action(async (flags: { maxSize: string; dryRun?: boolean }, cmd: Command) => {
      const logger = loggerFor(cmd.optsWithGlobals<GlobalOptions>());
      await collectGarbage(cacheLayout(cacheRoot()), parseSize(flags.maxSize), logger, flags.dryRun ?? false);
    });
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--max-size ${text}: give a size such as 500M or 20G`);
  const power = ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

async function repoNames(layout: CacheLayout, only?: string): Promise<string[]> {
  if (only !== undefined) {
    if (!REPO_NAME.test(only)) throw new UsageError(`"${only}" is not a repo name`);
    return [only];
  }
  return (await readdir(join(layout.root, 'stages')).catch(() => [] as string[])).sort();
}

async function entryNames(layout: CacheLayout, repo: string): Promise<string[]> {
  return (await readdir(layout.stages(repo)).catch(() => [] as string[])).sort();
}

/** The repo's lock, or undefined when a build of it is running (its entries are in use). */
async function lockIfIdle(layout: CacheLayout, repo: string, logger: Logger): Promise<Lock | undefined> {
  try {
    return await acquireLock(layout.locks, repo, 0, logger);
  } catch (err) {
    if (err instanceof BuildError) {
      logger.warn(`${repo}: a build is running; its entries are left alone`);
      return undefined;
    }
    throw err;
  }
}

/** Full check of every entry; returns how many are damaged. */
export async function verifyCache(
  layout: CacheLayout,
  only: string | undefined,
  drop: boolean,
  logger: Logger,
): Promise<number> {
  let bad = 0;
  let good = 0;
  for (const repo of await repoNames(layout, only)) {
    const lock = drop ? await lockIfIdle(layout, repo, logger) : undefined;
    if (drop && !lock) continue;
    try {
      for (const name of await entryNames(layout, repo)) {
        const dir = join(layout.stages(repo), name);
        const problems = await checkEntry(dir, 'full');
        if (problems.length === 0) {
          good++;
          continue;
        }
        bad++;
        logger.error(
          `${repo}/${name}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
        );
        if (drop) {
          await removeTree(dir);
          logger.info(`${repo}/${name}: removed`);
        }
      }
    } finally {
      await lock?.release();
    }
  }
  logger.event({ type: 'cache-verify', good, bad }, `${good} entries match their manifests, ${bad} damaged`);
  return bad;
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

interface GcEntry {
  repo: string;
  name: string;
  dir: string;
  bytes: number;
  lastUse: number;
}

/**
 * Least recently used first, until the stage cache fits `maxBytes`. Entries whose shared trees
 * are gone (their parent was removed) are unusable and go first. Repos with a running build are
 * skipped whole: their locks stay held while we work, so no build starts under us either. A
 * build uses any repo's entry of its key, so while one runs only unusable entries are removed.
 * `dryRun` makes the same choice and names each entry it would remove, removing none.
 */
export async function collectGarbage(
  layout: CacheLayout,
  maxBytes: number,
  logger: Logger,
  dryRun = false,
): Promise<void> {
  const locks: Lock[] = [];
  try {
    const entries: GcEntry[] = [];
    let held = 0;
    let busy = false;
    for (const repo of await repoNames(layout)) {
      const lock = await lockIfIdle(layout, repo, logger);
      busy ||= !lock;
      for (const name of await entryNames(layout, repo)) {
        const dir = join(layout.stages(repo), name);
        const bytes = (await measureTree(dir)).bytes;
        if (!lock) {
          held += bytes;
          continue;
        }
        const usable = await realpath(join(dir, 'rootfs')).then(
          () => true,
          () => false,
        );
        const lastUse = usable ? (await stat(dir)).mtimeMs : 0;
        entries.push({ repo, name, dir, bytes, lastUse });
      }
      if (lock) locks.push(lock);
    }
    let total = held + entries.reduce((sum, e) => sum + e.bytes, 0);
    const before = total;
    const chosen: GcEntry[] = [];
    for (const entry of entries.sort((a, b) => a.lastUse - b.lastUse)) {
      if ((total <= maxBytes || busy) && entry.lastUse !== 0) break;
      if (dryRun) logger.info(`would remove ${entry.repo}/${entry.name} (${mib(entry.bytes)})`);
      else await removeTree(entry.dir);
      total -= entry.bytes;
      chosen.push(entry);
    }
    const removed = chosen.length;
    logger.event(
      {
        type: 'cache-gc',
        dryRun,
        removed,
        entries: chosen.map((e) => ({ repo: e.repo, entry: e.name, bytes: e.bytes })),
        bytesBefore: before,
        bytesAfter: total,
        maxBytes,
      },
      `${dryRun ? 'would remove' : 'removed'} ${removed} entries, freeing ${mib(before - total)}: ` +
        `${mib(before)} → ${mib(total)} (limit ${mib(maxBytes)})${dryRun ? '; nothing was removed (--dry-run)' : ''}`,
    );
    if (total > maxBytes)
      logger.warn(
        "the cache is still above the limit: a build is running, and it may use any repo's entries: they are kept",
      );
  } finally {
    for (const lock of locks) await lock.release();
  }
}
