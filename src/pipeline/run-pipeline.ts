import { chmod, copyFile, mkdir, readdir, realpath, symlink } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { BuildError, CommandError, InterruptedError, IsobuildError, RefusedEntryError } from '../errors.js';
import { throwIfCancelled } from '../exec/cancel.js';
import { run } from '../exec/run.js';
import { declaredRun } from '../stage/commands.js';
import { saveToolVersionFile, useToolVersionFile } from '../exec/tool-version.js';
import { teeLogger, type Logger } from '../log/logger.js';
import {
  cacheLayout,
  commitEntry,
  earlierArtifacts,
  entryDir,
  entryKeyOf,
  lookupEntry,
  madeByNote,
  makeWorkDir,
  markUsed,
  otherMaker,
  removeStaleWork,
  type CacheEntry,
  type CacheLayout,
} from '../cache/cache.js';
import { freeBytes, isNoSpace, MiB, mountPointOf } from '../fs/disk-space.js';
import { toFileSystemError } from '../fs/fs-error.js';
import { measureTree } from '../fs/measure-tree.js';
import { openBuildSession } from './build-session.js';
import { checkSizeBudget } from './budgets.js';
import { explainPlan, sameOutputNote } from './explain.js';
import { findGrowBase, type GrowChoice } from './grow-base.js';
import { checkEntry, readManifest } from '../cache/cache-integrity.js';
import { copyTree, copyTreeExcept, linkTree, removeTree } from '../fs/fs-tree.js';
import { acquireLock } from '../cache/lock.js';
import { linkStages } from './stage-keys.js';
import type { StageInputsRecord } from '../cache/cache-integrity.js';
import type {
  BuildPlan,
  GrowBase,
  RemoteStageCache,
  Stage,
  StageContext,
  StageFailure,
  StageInputs,
  StageLink,
  StageMeta,
  StageName,
  StageOutcome,
} from '../stage/types.js';

export interface PipelineResult {
  outcomes: StageOutcome[];
  /** Each stage's entry, in order; undefined for a stage that was skipped (not needed, not cached). */
  entries: (CacheEntry | undefined)[];
  /** The last stage's entry: its rootfs, bootfs and artifacts. */
  final: CacheEntry;
}

export interface PipelineOptions {
  /** A registry consulted where the local cache misses, and given what this build has. */
  remote?: RemoteStageCache;
  /**
   * Called when a stage fails, after its `failed` event and before its work folder is removed
   * (`build --debug-shell`); the build's error follows once it returns.
   */
  onStageFailure?: (failure: StageFailure) => Promise<void>;
}

/**
 * Run the plan's stages in order. The build starts after the deepest stage whose result is
 * at hand (in the local cache, or else pulled from the remote one): stages before it are
 * not needed. A stage that runs works in a temp folder that becomes a cache entry only
 * when it succeeds.
 */
export async function runPipeline(
  plan: BuildPlan,
  logger: Logger,
  options: PipelineOptions = {},
): Promise<PipelineResult> {
  const layout = cacheLayout(resolve(plan.options.cacheRoot));
  const repo = plan.spec.name;
  const lock = await acquireLock(layout.locks, repo, plan.options.lockTimeout, logger);
  const pushes: Promise<void>[] = [];
  let session: Awaited<ReturnType<typeof openBuildSession>> | undefined;
  try {
    await removeStaleWork(layout, logger);
    session = await openBuildSession(layout.tmp);
    // Tool versions known from earlier builds are not asked again: a no-op build runs nothing.
    await useToolVersionFile(join(layout.root, 'tool-versions.json'));
    let { links, inputs, records, values } = await linkStages(plan);
    await saveToolVersionFile();
    const depth = plan.options.verifyCache ? 'full' : 'quick';
    // --force: the last stage's entry is not looked for, here or in the registry, so it is built.
    const usableOf = (all: StageLink[]) => (plan.options.force ? all.slice(0, -1) : all);
    const usable = usableOf(links);
    let found = plan.options.noCache
      ? links.map(() => undefined)
      : [
          ...(await findUsableEntries(layout, repo, usable, depth, logger)),
          ...links.slice(usable.length).map(() => undefined),
        ];
    let start = -1;
    for (const [i, e] of found.entries()) if (e) start = i;
    let pulled: number | undefined;
    if (options.remote && !plan.options.noCache) {
      const index = await pullDeepest(
        plan,
        usable.slice(start + 1),
        records.slice(start + 1, usable.length),
        layout,
        options.remote,
        logger,
      );
      if (index !== undefined) {
        pulled = start + 1 + index.offset;
        found[pulled] = index.entry;
        start = pulled;
      }
    }
    // A no-op build (every stage at hand) asks nothing more of the cache.
    const whyRebuilt =
      plan.options.noCache || start === links.length - 1
        ? new Map<StageName, readonly string[]>()
        : await rebuildReasons(plan, layout, links, records);
    const last = links.at(-1)!;
    // Said only when --force is the reason: the entry is there and nothing else changed.
    if (
      plan.options.force &&
      !plan.options.noCache &&
      !whyRebuilt.has(last.stage) &&
      (await lookupEntry(layout, repo, last.stage, last.key))
    )
      whyRebuilt.set(last.stage, ['--force: the cached entry is not used']);
    const outcomes: StageOutcome[] = [];
    const entries: (CacheEntry | undefined)[] = [];
    let parent: CacheEntry | undefined;
    for (const [index, stage] of plan.stages.entries()) {
      const started = Date.now();
      const { key } = links[index]!;
      const counter = `[${index + 1}/${plan.stages.length}]`;
      if (index <= start) {
        const status = index === pulled ? 'pulled' : index === start || found[index] ? 'hit' : 'skipped';
        const seconds = (Date.now() - started) / 1000;
        outcomes.push({
          stage: stage.name,
          key,
          status,
          seconds,
          inputs: inputs[index]!,
          record: records[index]!,
        });
        entries.push(found[index]);
        const maker = status === 'hit' ? otherMaker(found[index]!, repo) : undefined;
        const human =
          status === 'pulled'
            ? `from the registry ${options.remote!.name}`
            : status === 'hit'
              ? `cached${madeByNote(maker)}`
              : `not needed (${plan.stages[start]!.name} is ${start === pulled ? 'from the registry' : 'cached'})`;
        logger.event(
          { type: 'stage', stage: stage.name, status, key, seconds, ...(maker ? { madeBy: maker } : {}) },
          `${counter} ${stage.name}: ${human}`,
        );
        // A budget is in no key: a cached stage is measured again, so a lowered budget still fails.
        if (found[index])
          await checkSizeBudget(plan, stage.name, found[index]!, entries.slice(0, -1), layout, logger);
        if (index === start) parent = found[index];
        if (options.remote && found[index] && status !== 'pulled')
          pushes.push(options.remote.push(links[index]!, found[index]!));
        continue;
      }
      const why = whyRebuilt.get(stage.name);
      logger.event(
        { type: 'stage', stage: stage.name, status: 'start', key, ...(why ? { reasons: why } : {}) },
        `${counter} ${stage.name}...${why ? ` (rebuilds: ${why.join('; ')})` : ''}`,
      );
      let reported = false;
      const reportFailure = () => {
        if (reported) return;
        reported = true;
        const seconds = (Date.now() - started) / 1000;
        logger.event({ type: 'stage', stage: stage.name, status: 'failed', key, seconds });
      };
      const onFailure = options.onStageFailure;
      // --no-cache asks for every stage from nothing.
      const grow =
        plan.options.noCache || plan.options.force
          ? undefined
          : await findGrowBase(layout, stage, key, records[index]!);
      try {
        parent = await runStage(plan, stage, values[index]!, key, records[index]!, parent, layout, logger, {
          grow,
          onFailure:
            onFailure &&
            (async (failure) => {
              reportFailure();
              await onFailure(failure);
            }),
        });
        entries.push(parent);
      } catch (err) {
        reportFailure();
        throw err;
      }
      const seconds = (Date.now() - started) / 1000;
      outcomes.push({
        stage: stage.name,
        key,
        status: 'built',
        seconds,
        inputs: inputs[index]!,
        record: records[index]!,
      });
      // Early cutoff: the output is an earlier entry's, so later stages are keyed on that entry's
      // key (the keys computed before the build assumed a new output) and may be cached.
      const first = parent.firstKeyOfOutput;
      const next = links[index + 1];
      let cutoff = '';
      if (first !== undefined && next && next.parentKey !== first) {
        ({ links, inputs, records, values } = await linkStages(plan));
        const rest = usableOf(links).slice(index + 1);
        const more = plan.options.noCache ? [] : await findUsableEntries(layout, repo, rest, depth, logger);
        found = [...found.slice(0, index + 1), ...links.slice(index + 1).map((_, i) => more[i])];
        const deeper = found.findLastIndex((e, i) => i > index && e !== undefined);
        if (deeper > index) start = deeper;
        cutoff = sameOutputNote(first === key ? undefined : first, deeper > index);
      }
      logger.event(
        {
          type: 'stage',
          stage: stage.name,
          status: 'built',
          key,
          seconds,
          ...(first !== undefined && first !== key ? { sameOutputAs: first } : {}),
        },
        `${counter} ${stage.name}: built in ${seconds.toFixed(1)} s${cutoff}`,
      );
      await checkSizeBudget(plan, stage.name, parent, entries.slice(0, -1), layout, logger);
      // Pushed while the next stage builds (one push at a time, in order), so a later stage
      // that fails still leaves this one shared.
      if (options.remote) pushes.push(options.remote.push(links[index]!, parent));
    }
    if (!parent) throw new IsobuildError('the plan has no stages');
    await Promise.all(pushes);
    return { outcomes, entries, final: parent };
  } finally {
    await Promise.allSettled(pushes);
    await session?.close();
    await lock.release();
  }
}

/**
 * Why each stage that has an older entry for this repo is built again ("staging.sh changed"),
 * as `plan --explain` says it; a stage whose only reason is its parent's rebuild is left out.
 * Said in the stage's start line, so an unexpected rebuild explains itself in the build's output.
 */
async function rebuildReasons(
  plan: BuildPlan,
  layout: CacheLayout,
  links: readonly StageLink[],
  records: readonly StageInputsRecord[],
): Promise<Map<StageName, readonly string[]>> {
  const out = new Map<StageName, readonly string[]>();
  const linked = { links: [...links], records: [...records] };
  for (const e of await explainPlan(plan, layout, linked, { growth: false })) {
    if (e.status !== 'rebuild' || !e.comparedWith) continue;
    const own = e.reasons.filter((r) => !r.startsWith('its parent ('));
    if (own.length) out.set(e.stage, own);
  }
  return out;
}

/**
 * The deepest of `links` the remote holds, pulled into the local cache; stages before it are
 * then not needed at all. An entry refused for its content (a tampered blob) costs only its own
 * stage and those after it: the deepest intact entry below it is pulled instead. A remote that
 * fails otherwise is a warning: the build goes on locally.
 */
async function pullDeepest(
  plan: BuildPlan,
  links: readonly StageLink[],
  records: readonly StageInputsRecord[],
  layout: CacheLayout,
  remote: RemoteStageCache,
  logger: Logger,
): Promise<{ offset: number; entry: CacheEntry } | undefined> {
  const repo = plan.spec.name;
  for (let below = links.length; below > 0; ) {
    const offset = await remote.findDeepest(links.slice(0, below));
    if (offset < 0) return undefined;
    const link = links[offset]!;
    const work = await makeWorkDir(layout, repo, link.stage);
    try {
      const meta = await remote.pull(link, work);
      return {
        offset,
        entry: await commitEntry(layout, repo, link.stage, link.key, work, meta, undefined, records[offset]),
      };
    } catch (err) {
      // Ctrl-C during a transfer surfaces as the transfer's abort error: stop, do not build.
      throwIfCancelled();
      if (err instanceof InterruptedError) throw err;
      const refused = err instanceof RefusedEntryError;
      const next = refused && offset > 0 ? `; looking for an intact entry below it` : '';
      // A full cache disk while unpacking is said as the path and the space, not as node's errno text.
      const why = ((await toFileSystemError(err, { what: 'unpacking into', path: work })) ?? (err as Error))
        .message;
      logger.warn(`${link.stage} from ${remote.name}: ${why}; building it here${next}`);
      if (!refused) return undefined;
      below = offset;
    } finally {
      await removeTree(work);
    }
  }
  return undefined;
}

/**
 * The entries this build can start from, found from the deepest stage back. Only what the
 * build uses is checked against its manifest: the deepest usable entry and, back to the entry
 * that owns them, the entries whose trees it shares (read-only stages link to their parent's
 * root). Stages before that are not needed, so a no-op build checks one root, not every stage's;
 * --verify-cache (full digests) checks every entry. A damaged entry is dropped, and so is every
 * later one found, since they may share its trees.
 */
async function findUsableEntries(
  layout: CacheLayout,
  repo: string,
  links: readonly StageLink[],
  depth: 'quick' | 'full',
  logger: Logger,
): Promise<(CacheEntry | undefined)[]> {
  const found: (CacheEntry | undefined)[] = links.map(() => undefined);
  for (let i = links.length - 1; i >= 0; i--) {
    const link = links[i]!;
    const hit = await lookupVerified(layout, repo, link.stage, link.key, depth, logger);
    if (hit === 'missing') continue;
    if (hit === 'damaged') {
      found.fill(undefined, i);
      continue;
    }
    found[i] = hit;
    if (depth === 'quick' && (await ownsItsTrees(hit))) {
      // Earlier entries are only reported as cached: the build does not read them.
      for (let j = 0; j < i; j++) found[j] = await lookupEntry(layout, repo, links[j]!.stage, links[j]!.key);
      break;
    }
  }
  return found;
}

async function ownsItsTrees(entry: CacheEntry): Promise<boolean> {
  const dir = await realpath(entry.dir).catch(() => entry.dir);
  return entry.rootfs === join(dir, 'rootfs') && entry.bootfs === join(dir, 'bootfs');
}

/**
 * A cache hit only if the entry still matches the manifest written when it was committed;
 * a damaged entry is dropped (its dependants' links then dangle, so they are rebuilt too).
 */
async function lookupVerified(
  layout: CacheLayout,
  repo: string,
  stage: string,
  key: string,
  depth: 'quick' | 'full',
  logger: Logger,
): Promise<CacheEntry | 'missing' | 'damaged'> {
  const hit = await lookupEntry(layout, repo, stage, key);
  if (!hit) return 'missing';
  const problems = await checkEntry(hit.dir, depth);
  if (problems.length === 0) {
    await markUsed(hit);
    return hit;
  }
  const shown =
    problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  if (hit.repo !== repo) {
    // Another repo's entry: its own builds and `cache verify --drop` remove it, under its lock.
    logger.warn(
      `cache entry ${stage}-${key} of repo ${hit.repo} does not match its manifest (${shown}): not used, rebuilding`,
    );
    return 'damaged';
  }
  logger.warn(`cache entry ${stage}-${key} does not match its manifest (${shown}): dropped, rebuilding`);
  await removeTree(hit.dir);
  return 'damaged';
}

/** How many earlier entries a stage that reads them is shown (the newest: older ones rarely still match). */
const EARLIER_ENTRIES = 4;

async function runStage(
  plan: BuildPlan,
  stage: Stage,
  inputs: StageInputs,
  key: string,
  record: StageInputsRecord,
  parent: CacheEntry | undefined,
  layout: CacheLayout,
  logger: Logger,
  hooks: { onFailure?: (failure: StageFailure) => Promise<void>; grow?: GrowChoice } = {},
): Promise<CacheEntry> {
  const repo = plan.spec.name;
  const work = await makeWorkDir(layout, repo, stage.name);
  // What was free when the stage started: a stage that filled the disk needed more than that.
  const freeAtStart = await freeBytes(layout.root);
  const logDir = layout.logs(repo);
  const logFile = join(logDir, `${stage.name}.log`);
  await mkdir(logDir, { recursive: true });
  let committed = false;
  // Which of the work trees are hard links to the parent entry's files (a debug shell must not write through them).
  const linked = {
    rootfs: Boolean(parent && stage.mutatesRoot && stage.linksParentRoot),
    artifacts: Boolean(parent),
  };
  try {
    const rootfs = join(work, 'rootfs');
    const bootfs = join(work, 'bootfs');
    const artifacts = join(work, 'artifacts');
    const tmpDir = join(work, 'tmp');
    let leftOut: string[] = [];
    if (!parent) {
      // Explicit modes, never the umask's: the root's own mode is the image's "/".
      for (const d of [rootfs, bootfs, artifacts]) {
        await mkdir(d);
        await chmod(d, 0o755);
      }
    } else {
      if (linked.rootfs) {
        await linkTree(parent.rootfs, rootfs);
        await copyTree(parent.bootfs, bootfs);
      } else if (stage.mutatesRoot) {
        const unwanted = await stage.leaveOut?.(parent.rootfs, inputs, parent.meta).catch(() => []);
        leftOut = await copyTreeExcept(parent.rootfs, rootfs, unwanted ?? []);
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
    const pkgCacheDir = layout.packagesFor(plan.spec.arch);
    await mkdir(pkgCacheDir, { recursive: true });
    const meta: StageMeta = structuredClone(parent?.meta ?? {});

    const stageLogger = teeLogger(logger, join(work, 'stage.log'));
    const ctx: StageContext = {
      stage: stage.name,
      rootfs: stage.mutatesRoot || !parent ? rootfs : parent.rootfs,
      bootfs: stage.mutatesRoot || !parent ? bootfs : parent.bootfs,
      artifacts,
      tmpDir,
      pkgCacheDir,
      sourceDateEpoch: plan.options.sourceDateEpoch,
      listsMaxAge: plan.options.listsMaxAge ?? plan.spec.packageListsMaxAge,
      ...(plan.options.mirror ? { mirror: plan.options.mirror } : {}),
      meta,
      ...(hooks.grow && 'base' in hooks.grow ? { growFrom: hooks.grow.base } : {}),
      ...(leftOut.length ? { leftOut } : {}),
      ...(stage.readsEarlierEntries && !plan.options.noCache
        ? { earlier: await earlierArtifacts(layout, repo, stage.name, EARLIER_ENTRIES) }
        : {}),
      logger: stageLogger,
      run: declaredRun(stage.name, stage.commands(inputs), (file, args, opts) =>
        run(file, args, { stage: stage.name, logger: stageLogger, ...opts }),
      ),
    };
    if (hooks.grow && 'refused' in hooks.grow)
      stageLogger.info(`${stage.name}: full build (no incremental root: ${hooks.grow.refused})`);
    try {
      await stage.run(ctx, inputs);
    } catch (err) {
      // The stage's own error is the one to report, even if the log could not be finished.
      await stageLogger.close().catch(() => undefined);
      // Not after Ctrl-C: the user asked the build to stop, not to look around.
      if (hooks.onFailure && !(err instanceof InterruptedError))
        await hooks.onFailure({
          plan,
          ctx,
          inputs,
          mutatesRoot: stage.mutatesRoot,
          linked,
          error: err,
        });
      throw err;
    } finally {
      await copyFile(join(work, 'stage.log'), logFile).catch(() => undefined);
    }
    await stageLogger.close();
    await removeTree(tmpDir);
    // A grown root keeps most of its base's files (cp -a keeps their times): their digests are reused.
    const grown = hooks.grow && 'base' in hooks.grow && meta.grownFrom === hooks.grow.base.key;
    const copiedFrom = parent ?? (grown ? (hooks.grow as { base: GrowBase }).base : undefined);
    const entry = await commitEntry(layout, repo, stage.name, key, work, meta, copiedFrom, record);
    committed = true;
    return entry;
  } catch (err) {
    if (isNoSpace(err)) throw await noSpaceError(err, stage.name, work, layout, repo, logFile, freeAtStart);
    throw withLogFile(err, stage.name, logFile);
  } finally {
    if (!committed) await removeTree(work);
  }
}

/**
 * A full disk, said plainly: where, how much is free, and about how much the stage needs (the
 * size of an earlier entry of the same stage when the cache has one, else what it had written).
 */
async function noSpaceError(
  err: unknown,
  stage: string,
  work: string,
  layout: CacheLayout,
  repo: string,
  logFile: string,
  freeAtStart: number | undefined,
): Promise<BuildError> {
  const written = (await measureTree(work).catch(() => undefined))?.bytes ?? 0;
  const earlier = await earlierEntryBytes(layout, repo, stage);
  const where = await mountPointOf(work);
  const mib = (n: number) => Math.ceil(n / MiB);
  // The last build of the stage is the best guess; else it needed more than what was free
  // when it started (what it wrote may have been cleaned up by the tool already).
  const needs =
    earlier !== undefined
      ? `needs about ${mib(Math.max(earlier, written))} MiB, the size of its last build`
      : `needs about ${mib(Math.max(written, freeAtStart ?? 0))} MiB or more`;
  const free =
    freeAtStart === undefined ? 'free space unknown' : `${mib(freeAtStart)} MiB were free when it started`;
  return new BuildError(
    `no space left on ${where} (${needs}; ${free}): ` +
      `free some space (isobuild cache gc) or point ISOBUILD_CACHE at a larger disk` +
      `\n  full log: ${relative(process.cwd(), logFile) || logFile}`,
    stage,
    { cause: err },
  );
}

/** Bytes of the largest committed entry of `stage` for `repo`, from the entries' manifests. */
async function earlierEntryBytes(
  layout: CacheLayout,
  repo: string,
  stage: string,
): Promise<number | undefined> {
  const names = await readdir(layout.stages(repo)).catch(() => [] as string[]);
  let best: number | undefined;
  for (const name of names.filter((n) => entryKeyOf(n, stage) !== undefined)) {
    const manifest = await readManifest(join(layout.stages(repo), name));
    if (!manifest) continue;
    const bytes = Object.values(manifest.trees)
      .flatMap((t) => ('entries' in t ? t.entries : []))
      .reduce((sum, e) => sum + e[5], 0);
    best = Math.max(best ?? 0, bytes);
  }
  return best;
}

/** Name the stage (once: as data, and at the front of the message) and its full log. */
function withLogFile(err: unknown, stage: string, logFile: string): unknown {
  if (err instanceof IsobuildError) {
    err.atStage(stage);
    err.message = `${err.message}\n  full log: ${relative(process.cwd(), logFile) || logFile}`;
    // As data too: the error event's logFile (docs/json.md).
    if (err instanceof CommandError) err.details.logFile = logFile;
    return err;
  }
  // A bug or an unexpected system error inside a stage: still say which stage and where the log is.
  const message = err instanceof Error ? err.message : String(err);
  return new BuildError(`${message}\n  full log: ${relative(process.cwd(), logFile) || logFile}`, stage, {
    cause: err,
  });
}
