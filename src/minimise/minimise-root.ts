import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { tail } from '../exec/run.js';
import type { StageContext } from '../stage/types.js';
import type { ResolvedSpec } from '../spec/types.js';
import { KeepSet } from './closure.js';
import { copyKept } from './copier.js';
import { fixedEnv } from './env.js';
import { globToRegExp, matchRootGlobs, walkRoot } from '../rootfs/glob.js';
import { driverModulePaths, moduleIndexGlobs } from './modules.js';
import { buildManifest, summarise, type MinimiseManifest } from './report.js';
import { walkInRoot } from '../rootfs/root-path.js';
import { parseStrace } from './strace-parse.js';
import { interpretTrace } from './trace-events.js';
import { traceWorkload, type Workload, type WorkloadResult } from './tracer.js';
import {
  findReusableTrace,
  readTraceMemos,
  RootFingerprints,
  TRACE_MEMO_ARTIFACT,
  traceMemo,
  workloadKey,
  type RecordedTrace,
  type TraceMemo,
} from './trace-memo.js';
import { checkRun, formatFailures, type VerifyFailure } from './verify.js';
import { measureTree } from '../fs/measure-tree.js';

/**
 * The minimise stage's work, in order: trace each workload in an overlay of the root, keep
 * what it used (plus ELF and shebang closures, keep/list_dirs globs and the init's needs),
 * copy that into a fresh root, rerun the workloads there and compare, then swap the roots.
 */
export interface MinimiseInputs {
  /** The spec's minimise section; none for a small bootstrap (nothing traced but its workloads). */
  minimise?: ResolvedSpec['minimise'];
  /** Extra in-root paths the init layer needs (initRequirements, the app init's). */
  initPaths: readonly string[];
  /** Workloads to trace instead of the spec's (a small bootstrap's init.sh install functions). */
  workloads?: readonly Workload[];
}

/** Directories the init mounts on or writes to: kept empty when the root has them. */
const MOUNT_POINTS = ['/proc', '/sys', '/dev', '/tmp', '/run', '/root'];

type Ctx = Pick<
  StageContext,
  'rootfs' | 'tmpDir' | 'artifacts' | 'meta' | 'logger' | 'run' | 'stage' | 'earlier'
>;

export async function minimiseRoot(ctx: Ctx, inputs: MinimiseInputs): Promise<MinimiseManifest> {
  // Without a minimise section (a small bootstrap) nothing is traced: the init's needs and
  // their closure are the whole root.
  const m: Partial<NonNullable<ResolvedSpec['minimise']>> = inputs.minimise ?? {};
  const env = fixedEnv(inputs);
  const before = await measureTree(ctx.rootfs);
  const keep = new KeepSet(
    ctx.rootfs,
    (env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.startsWith('/')),
  );
  const workloads = inputs.workloads ?? ((inputs.minimise?.workloads ?? []) as Workload[]);
  const prints = new RootFingerprints(ctx.rootfs);
  const memos = await readTraceMemos(ctx.earlier ?? []);
  const traced = await traceWorkloads(ctx, env, keep, workloads, prints, memos);
  await addUntraced(ctx, env, keep, inputs);
  const excluded = keep.exclude((m.exclude ?? []).map(globToRegExp));
  keep.addParents();
  const { minRoot, kept } = await copyAndVerify(ctx, env, keep, workloads, traced);

  // The manifest describes the full root's files (sizes as kept), then the roots swap.
  const after = await measureTree(minRoot);
  const manifest = await buildManifest(ctx.rootfs, keep, {
    before,
    after,
    workloads: traced.summary,
    excluded,
  });
  await replaceRoot(ctx.rootfs, minRoot);
  await mkdir(ctx.artifacts, { recursive: true });
  await writeFile(join(ctx.artifacts, 'minimise-manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  await writeFile(
    join(ctx.artifacts, TRACE_MEMO_ARTIFACT),
    JSON.stringify(traceMemo(traced.recorded, kept)) + '\n',
  );
  for (const line of summarise(manifest)) ctx.logger.info(line);
  ctx.meta.minimise = { before, after };
  return manifest;
}

function traceIn(ctx: Ctx, env: Record<string, string>, root: string, w: Workload): Promise<WorkloadResult> {
  return traceWorkload({ root, workload: w, env, tmpDir: ctx.tmpDir, run: ctx.run, stage: ctx.stage });
}

/**
 * Runs every workload in the full root and keeps what it used; its outputs are the reference.
 * A trace an earlier build recorded stands in for a run when every path it used is unchanged
 * here (src/minimise/trace-memo.ts); `reusedFrom` is the earlier memo every trace came from.
 */
async function traceWorkloads(
  ctx: Ctx,
  env: Record<string, string>,
  keep: KeepSet,
  workloads: readonly Workload[],
  prints: RootFingerprints,
  memos: readonly TraceMemo[],
): Promise<{
  runs: WorkloadResult[];
  summary: MinimiseManifest['workloads'];
  recorded: RecordedTrace[];
  reusedFrom?: TraceMemo;
}> {
  const runs: WorkloadResult[] = [];
  const summary: MinimiseManifest['workloads'] = [];
  const recorded: RecordedTrace[] = [];
  const sources = new Set<TraceMemo | undefined>();
  for (const w of workloads) {
    const t0 = Date.now();
    const key = workloadKey(w, env);
    const found = await findReusableTrace(memos, key, prints);
    sources.add(found?.memo);
    const trace = found?.trace ?? (await traceAndRecord(ctx, env, w, key, prints));
    for (const a of trace.accesses)
      await keep.add(a.path, 'traced', {
        follow: a.follow,
        create: a.kind === 'create',
        exec: a.kind === 'exec',
      });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    ctx.logger.info(
      found
        ? `reused the trace of ${JSON.stringify(w.argv)} from an earlier build: the ${trace.observed.length} paths it used are unchanged, ${secs} s`
        : `traced ${JSON.stringify(w.argv)}: exit ${trace.exitCode}, ${trace.accesses.length} accesses, ${secs} s`,
    );
    runs.push({
      exitCode: trace.exitCode,
      stdout: trace.stdout,
      stderr: trace.stderr,
      trace: '',
      chrootPath: '',
    });
    summary.push({ argv: [...w.argv], exitCode: trace.exitCode, accesses: trace.accesses.length });
    recorded.push(trace);
  }
  const [only] = sources;
  return {
    runs,
    summary,
    recorded,
    ...(sources.size === 1 && only ? { reusedFrom: only } : {}),
  };
}

/** Traces one workload in the full root; what it used, and what those paths are now. */
async function traceAndRecord(
  ctx: Ctx,
  env: Record<string, string>,
  w: Workload,
  key: string,
  prints: RootFingerprints,
): Promise<RecordedTrace> {
  const res = await traceIn(ctx, env, ctx.rootfs, w);
  const expected = w.exit ?? 0;
  if (res.exitCode !== expected)
    throw new BuildError(
      `workload ${JSON.stringify(w.argv)} exited with status ${res.exitCode} in the full root (expected ${expected})` +
        `\n  stderr (last lines):\n${tail(res.stderr || res.stdout)}`,
      ctx.stage,
    );
  const facts = interpretTrace(parseStrace(res.trace), res.chrootPath);
  return {
    key,
    exitCode: res.exitCode,
    stdout: res.stdout,
    stderr: res.stderr,
    accesses: facts.accesses.map(({ path, kind, follow }) => ({ path, kind, follow })),
    observed: await prints.observe(facts.accesses, facts.missing),
  };
}

/** What the traces cannot show: keep and list_dirs globs, the init's needs, the drivers' modules. */
async function addUntraced(ctx: Ctx, env: Record<string, string>, keep: KeepSet, inputs: MinimiseInputs) {
  const m = inputs.minimise;
  for (const p of await matchRootGlobs(ctx.rootfs, m?.keep ?? [])) await keep.add(p, 'keep', { exec: true });
  for (const dir of await matchRootGlobs(ctx.rootfs, m?.list_dirs ?? [])) {
    const r = await walkInRoot(ctx.rootfs, dir);
    if (!r.stat?.isDirectory()) continue;
    await keep.add(r.path, 'list_dirs');
    for (const entry of await walkRoot(ctx.rootfs, r.path))
      if (!entry.slice(r.path.length + 1).includes('/')) await keep.add(entry, 'list_dirs', { via: r.path });
  }
  for (const req of inputs.initPaths)
    for (const p of await expandRequirement(ctx.rootfs, req, env.PATH ?? ''))
      await keep.add(p, 'init', { exec: true });
  const kver = ctx.meta.kernelVersion;
  const modulePaths = [
    ...(await driverModulePaths(ctx.rootfs, kver, ctx.meta.drivers ?? [])),
    ...(await matchRootGlobs(ctx.rootfs, moduleIndexGlobs(kver))),
  ];
  for (const p of [...MOUNT_POINTS, ...modulePaths, env.HOME ?? '/root'])
    await keep.add(p, 'init', { exec: true });
}

/**
 * Copies the kept paths into a fresh root and reruns every workload there; returns the new
 * root, or throws (naming what the second runs missed) when any run differs from the full root's.
 */
async function copyAndVerify(
  ctx: Ctx,
  env: Record<string, string>,
  keep: KeepSet,
  workloads: readonly Workload[],
  traced: { runs: readonly WorkloadResult[]; reusedFrom?: TraceMemo },
): Promise<{ minRoot: string; kept: string }> {
  const fullRuns = traced.runs;
  const minRoot = join(ctx.tmpDir, 'minimised-root');
  await rm(minRoot, { recursive: true, force: true });
  await mkdir(minRoot, { recursive: true });
  await copyKept(ctx.rootfs, minRoot, keep.paths());
  // Every run taken from one earlier build, and the very root that build verified them in:
  // running the workloads again would say what it said then.
  const kept = await new RootFingerprints(minRoot).keptDigest(keep.paths());
  if (workloads.length && traced.reusedFrom?.verified === kept) {
    ctx.logger.info('minimised root: the files an earlier build verified, byte for byte; not run again');
    return { minRoot, kept };
  }
  const failures: VerifyFailure[] = [];
  for (const [i, w] of workloads.entries()) {
    const res = await traceIn(ctx, env, minRoot, w);
    const roots = { full: ctx.rootfs, minimised: minRoot };
    const failure = await checkRun(roots, w.argv, fullRuns[i] as WorkloadResult, res);
    if (failure) failures.push(failure);
  }
  if (failures.length) {
    await rm(minRoot, { recursive: true, force: true });
    throw new BuildError(formatFailures(failures), ctx.stage);
  }
  return { minRoot, kept };
}

/**
 * An init requirement as src/tether/requirements.ts writes them: a bare name is a command on
 * PATH, an absolute path to a folder means everything under it.
 */
export async function expandRequirement(root: string, req: string, path: string): Promise<string[]> {
  if (!req.startsWith('/')) {
    for (const dir of path.split(':').filter((d) => d.startsWith('/'))) {
      const candidate = `${dir}/${req}`;
      const r = await walkInRoot(root, candidate);
      if (r.stat?.isFile()) return [candidate];
    }
    return [];
  }
  const r = await walkInRoot(root, req);
  if (!r.stat?.isDirectory()) return [req];
  return [req, ...(await walkRoot(root, r.path))];
}

/** Empties `root` and moves the minimised root's entries into it (the root folder itself stays). */
async function replaceRoot(root: string, minRoot: string): Promise<void> {
  for (const name of await readdir(root)) await rm(join(root, name), { recursive: true, force: true });
  for (const name of await readdir(minRoot)) {
    try {
      await rename(join(minRoot, name), join(root, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await copyKept(minRoot, root, [`/${name}`, ...(await walkRoot(minRoot, `/${name}`))]);
    }
  }
  await rm(minRoot, { recursive: true, force: true });
}
