import type { Command } from 'commander';
import { relative, resolve } from 'node:path';
import { LockError, UsageError } from '../errors.js';
import { packageKey, type InstalledPackage } from '../inventory/types.js';
import { lockPath, makeLock, writeLock, type LockedPackage } from '../lock/lock-file.js';
import { querySources } from '../lock/use-lock.js';
import { cacheLayout } from '../cache/cache.js';
import { withPackageCache } from '../cache/package-cache.js';
import { defaultBuildOptions, makePlan } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import type { Target } from '../stage/types.js';
import { packageManagerFor } from '../pm/index.js';
import { standalonePmContext } from '../pm/pm-context.js';
import { loadRepo } from '../spec/load.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

/** Every root a package manager installs into: both flavours' staging, and iso-base under them. */
const LOCKED_TARGETS: readonly Target[] = ['iso-base', 'bootstrap-staging', 'appliance-staging'];

export function registerLock(program: Command): void {
  program
    .command('lock')
    .description(
      'write repos/REPO/isobuild.lock: every package the build installs, with exact version, architecture and digest',
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option('--lock-timeout <seconds>', 'how long to wait for another build of the same repo', '1800')
    .action(async (ref: string, flags: { lockTimeout: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const spec = await loadRepo(ref, reposDir(globals));
      const lockTimeout = Number(flags.lockTimeout);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
        throw new UsageError('--lock-timeout takes seconds');
      const options = { ...defaultBuildOptions(), lockTimeout };
      const pm = packageManagerFor(spec.packagemanager);
      const layout = cacheLayout(resolve(options.cacheRoot));
      const installed = new Map<string, InstalledPackage>();
      const seen = new Set<string>();
      for (const target of LOCKED_TARGETS) {
        const plan = makePlan(spec, target, options);
        await preflight(plan);
        const result = await runPipeline(plan, logger);
        for (const entry of result.entries) {
          // Both flavours build on the same iso-base entry: read it once.
          if (!entry || seen.has(entry.dir)) continue;
          seen.add(entry.dir);
          const ctx = standalonePmContext({
            spec,
            rootfs: entry.rootfs,
            pkgCacheDir: layout.packages,
            tmpDir: layout.tmp,
            stage: 'lock',
            logger,
          });
          for (const p of (await withPackageCache(ctx, () => pm.listInstalled(ctx))) ?? [])
            installed.set(packageKey(p), p);
        }
      }
      const sources = await querySources(spec, options, logger);
      const locked: LockedPackage[] = [];
      const missing: string[] = [];
      for (const p of installed.values()) {
        const found = sources.get(packageKey(p));
        if (found) locked.push({ ...p, sha256: found.sha256 });
        else missing.push(`  ${p.name} ${p.version} (${p.arch})`);
      }
      if (missing.length)
        throw new LockError(
          `the cached build installed ${missing.length} package version(s) the sources no longer provide:\n` +
            `${missing.join('\n')}\n  rebuild with \`isobuild build ${spec.name} --no-cache\` and lock again`,
        );
      const file = lockPath(spec);
      const lock = makeLock(spec, locked);
      await writeLock(file, lock);
      logger.event(
        { type: 'lock', repo: spec.name, path: file, packages: lock.packages.length },
        `${spec.name}: locked ${lock.packages.length} packages in ${relative(process.cwd(), file) || file}`,
      );
    });
}
