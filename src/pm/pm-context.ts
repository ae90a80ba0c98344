import { run } from '../exec/run.js';
import type { PackageLock } from '../lock/lock-file.js';
import type { Logger } from '../log/logger.js';
import type { StageContext } from '../pipeline/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { PmContext } from './types.js';

/** What a stage hands its package manager: the stage's own context plus the build's SOURCE_DATE_EPOCH. */
export function pmContextOf(ctx: StageContext): PmContext {
  return {
    spec: ctx.spec,
    rootfs: ctx.rootfs,
    pkgCacheDir: ctx.pkgCacheDir,
    tmpDir: ctx.tmpDir,
    stage: ctx.stage,
    sourceDateEpoch: ctx.plan.options.sourceDateEpoch,
    listsMaxAge: ctx.plan.options.listsMaxAge ?? ctx.spec.packageListsMaxAge,
    logger: ctx.logger,
    lock: ctx.plan.options.locked,
    run: (file, args, opts) => ctx.run(file, args, opts),
  };
}

/** A package-manager context outside any stage (lock, manifests): runs with the caller's logger. */
export function standalonePmContext(o: {
  spec: ResolvedSpec;
  rootfs: string;
  pkgCacheDir: string;
  tmpDir: string;
  stage: string;
  sourceDateEpoch?: number;
  logger: Logger;
  lock?: PackageLock;
}): PmContext {
  return {
    ...o,
    listsMaxAge: o.spec.packageListsMaxAge,
    run: (file, args, opts) => run(file, args, { stage: o.stage, logger: o.logger, ...opts }),
  };
}
