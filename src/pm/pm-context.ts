import type { StageContext } from '../pipeline/types.js';
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
    run: (file, args, opts) => ctx.run(file, args, opts),
  };
}
