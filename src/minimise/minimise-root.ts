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

type Ctx = Pick<StageContext, 'rootfs' | 'tmpDir' | 'artifacts' | 'meta' | 'logger' | 'run' | 'stage'>;

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
  const traced = await traceWorkloads(ctx, env, keep, workloads);
  await addUntraced(ctx, env, keep, inputs);
  const excluded = keep.exclude((m.exclude ?? []).map(globToRegExp));
  keep.addParents();
  const minRoot = await copyAndVerify(ctx, env, keep, workloads, traced.runs);

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
  for (const line of summarise(manifest)) ctx.logger.info(line);
  ctx.meta.minimise = { before, after };
  return manifest;
}

function traceIn(ctx: Ctx, env: Record<string, string>, root: string, w: Workload): Promise<WorkloadResult> {
  return traceWorkload({ root, workload: w, env, tmpDir: ctx.tmpDir, run: ctx.run, stage: ctx.stage });
}

/** Runs every workload in the full root and keeps what it used; its outputs are the reference. */
async function traceWorkloads(
  ctx: Ctx,
  env: Record<string, string>,
  keep: KeepSet,
  workloads: readonly Workload[],
): Promise<{ runs: WorkloadResult[]; summary: MinimiseManifest['workloads'] }> {
  const runs: WorkloadResult[] = [];
  const summary: MinimiseManifest['workloads'] = [];
  for (const w of workloads) {
    const t0 = Date.now();
    const res = await traceIn(ctx, env, ctx.rootfs, w);
    const expected = w.exit ?? 0;
    if (res.exitCode !== expected)
      throw new BuildError(
        `workload ${JSON.stringify(w.argv)} exited with status ${res.exitCode} in the full root (expected ${expected})` +
          `\n  stderr (last lines):\n${tail(res.stderr || res.stdout)}`,
        ctx.stage,
      );
    const facts = interpretTrace(parseStrace(res.trace), res.chrootPath);
    for (const a of facts.accesses)
      await keep.add(a.path, 'traced', {
        follow: a.follow,
        create: a.kind === 'create',
        exec: a.kind === 'exec',
      });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    ctx.logger.info(
      `traced ${JSON.stringify(w.argv)}: exit ${res.exitCode}, ${facts.accesses.length} accesses, ${secs} s`,
    );
    runs.push(res);
    summary.push({ argv: [...w.argv], exitCode: res.exitCode, accesses: facts.accesses.length });
  }
  return { runs, summary };
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
  fullRuns: readonly WorkloadResult[],
): Promise<string> {
  const minRoot = join(ctx.tmpDir, 'minimised-root');
  await rm(minRoot, { recursive: true, force: true });
  await mkdir(minRoot);
  await copyKept(ctx.rootfs, minRoot, keep.paths());
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
  return minRoot;
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
