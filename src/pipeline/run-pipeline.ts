import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { BuildError, CommandError, IsobuildError } from '../errors.js';
import { run } from '../exec/run.js';
import { teeLogger, type Logger } from '../log/logger.js';
import { packageManagerFor } from '../pm/index.js';
import {
  cacheLayout,
  commitEntry,
  computeStageKey,
  entryDir,
  lookupEntry,
  makeWorkDir,
  removeStaleWork,
  type CacheEntry,
} from './cache.js';
import { copyTree, linkTree, removeTree } from './fs-tree.js';
import { acquireLock } from './lock.js';
import type { BuildPlan, Stage, StageContext, StageMeta } from './types.js';

export interface StageOutcome {
  stage: string;
  key: string;
  status: 'hit' | 'built';
  seconds: number;
}

export interface PipelineResult {
  outcomes: StageOutcome[];
  /** The last stage's entry: its rootfs, bootfs and artifacts. */
  final: CacheEntry;
}

/**
 * Run the plan's stages in order. A stage whose key is in the cache is not run; a stage that
 * runs works in a temp folder that becomes a cache entry only when it succeeds.
 */
export async function runPipeline(plan: BuildPlan, logger: Logger): Promise<PipelineResult> {
  const layout = cacheLayout(resolve(plan.options.cacheRoot));
  const repo = plan.spec.name;
  const lock = await acquireLock(layout.locks, repo, plan.options.lockTimeout, logger);
  try {
    await removeStaleWork(layout);
    const outcomes: StageOutcome[] = [];
    let parent: CacheEntry | undefined;
    for (const [index, stage] of plan.stages.entries()) {
      const started = Date.now();
      const key = await computeStageKey(stage, plan, parent?.key, await stage.cacheInputs(plan));
      const counter = `[${index + 1}/${plan.stages.length}]`;
      const hit = plan.options.noCache ? undefined : await lookupEntry(layout, repo, stage.name, key);
      if (hit) {
        parent = hit;
        outcomes.push({ stage: stage.name, key, status: 'hit', seconds: 0 });
        logger.event(
          { type: 'stage', stage: stage.name, status: 'hit', key, seconds: 0 },
          `${counter} ${stage.name}: cached`,
        );
        continue;
      }
      logger.event({ type: 'stage', stage: stage.name, status: 'start', key }, `${counter} ${stage.name}...`);
      parent = await runStage(plan, stage, key, parent, layout, logger);
      const seconds = (Date.now() - started) / 1000;
      outcomes.push({ stage: stage.name, key, status: 'built', seconds });
      logger.event(
        { type: 'stage', stage: stage.name, status: 'built', key, seconds },
        `${counter} ${stage.name}: built in ${seconds.toFixed(1)} s`,
      );
    }
    if (!parent) throw new IsobuildError('the plan has no stages');
    return { outcomes, final: parent };
  } finally {
    await lock.release();
  }
}

async function runStage(
  plan: BuildPlan,
  stage: Stage,
  key: string,
  parent: CacheEntry | undefined,
  layout: ReturnType<typeof cacheLayout>,
  logger: Logger,
): Promise<CacheEntry> {
  const repo = plan.spec.name;
  const work = await makeWorkDir(layout, repo, stage.name);
  const logDir = layout.logs(repo);
  const logFile = join(logDir, `${stage.name}.log`);
  await mkdir(logDir, { recursive: true });
  let committed = false;
  try {
    const rootfs = join(work, 'rootfs');
    const bootfs = join(work, 'bootfs');
    const artifacts = join(work, 'artifacts');
    const tmpDir = join(work, 'tmp');
    if (!parent) {
      await mkdir(rootfs, { mode: 0o755 });
      await mkdir(bootfs, { mode: 0o755 });
      await mkdir(artifacts);
    } else {
      if (stage.mutatesRoot) {
        await copyTree(parent.rootfs, rootfs);
        await copyTree(parent.bootfs, bootfs);
      } else {
        // Read-only stages share the parent's trees instead of copying hundreds of megabytes;
        // the links are relative to where the entry will live once committed.
        const final = entryDir(layout, repo, stage.name, key);
        await symlink(relative(final, parent.rootfs), rootfs);
        await symlink(relative(final, parent.bootfs), bootfs);
      }
      await linkTree(parent.artifacts, artifacts);
    }
    await mkdir(tmpDir);
    const pkgCacheDir = layout.packages(repo);
    await mkdir(pkgCacheDir, { recursive: true });
    const meta: StageMeta = structuredClone(parent?.meta ?? {});

    const stageLogger = teeLogger(logger, join(work, 'stage.log'));
    const ctx: StageContext = {
      plan,
      spec: plan.spec,
      stage: stage.name,
      rootfs: stage.mutatesRoot || !parent ? rootfs : parent.rootfs,
      bootfs: stage.mutatesRoot || !parent ? bootfs : parent.bootfs,
      artifacts,
      tmpDir,
      pkgCacheDir,
      meta,
      logger: stageLogger,
      pm: packageManagerFor(plan.spec.packagemanager),
      run: (file, args, opts) => run(file, args, { stage: stage.name, logger: stageLogger, ...opts }),
    };
    try {
      await stage.run(ctx);
    } finally {
      await stageLogger.close();
      await copyFile(join(work, 'stage.log'), logFile).catch(() => undefined);
    }
    await removeTree(tmpDir);
    const entry = await commitEntry(layout, repo, stage.name, key, work, meta);
    committed = true;
    return entry;
  } catch (err) {
    throw withLogFile(err, stage.name, logFile);
  } finally {
    if (!committed) await removeTree(work);
  }
}

/** Name the stage and its full log in the error the user sees. */
function withLogFile(err: unknown, stage: string, logFile: string): unknown {
  if (err instanceof IsobuildError) {
    const where =
      err instanceof CommandError || err.message.startsWith(`stage ${stage}`) ? '' : `stage ${stage}: `;
    err.message = `${where}${err.message}\n  full log: ${relative(process.cwd(), logFile) || logFile}`;
    return err;
  }
  // A bug or an unexpected system error inside a stage: still say which stage and where the log is.
  const message = err instanceof Error ? err.message : String(err);
  return new BuildError(`${message}\n  full log: ${relative(process.cwd(), logFile) || logFile}`, stage, {
    cause: err,
  });
}
