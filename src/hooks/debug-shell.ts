import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { copyTree, removeTree } from '../fs/fs-tree.js';
import { quoteAlways } from '../exec/shell-quote.js';
import type { Logger } from '../log/logger.js';
import type { StageFailure } from '../stage/types.js';
import { describeHook, HOOK_HELPERS, makeHookEnv } from './hook-env.js';
import { hooksNetwork, type HookInputs } from './run-hook.js';
import { confinementFds, hostSandboxArgs } from './sandbox.js';

/**
 * `build --debug-shell` needs a person at a terminal: checked before the build starts, so CI
 * (no TTY) and --json (output must stay JSON Lines) fail at once instead of after the failure.
 */
export function checkDebugShell(o: { json?: boolean; stdinIsTTY: boolean | undefined }): void {
  if (o.json) throw new UsageError('--debug-shell opens an interactive shell: it cannot be used with --json');
  if (!o.stdinIsTTY)
    throw new UsageError(
      '--debug-shell opens an interactive shell and needs a terminal on stdin; ' +
        'without one, read the failed stage’s log (its path is in the error)',
    );
}

/** The hook a stage's inputs hold (iso-base: base.sh, staging: staging.sh), if any. */
function hookIn(inputs: unknown): HookInputs | undefined {
  const hook = (inputs as { hook?: HookInputs } | null)?.hook;
  return hook && typeof hook.file === 'string' ? hook : undefined;
}

/**
 * An interactive bash in the failed stage's work root, in the hooks' sandbox (src/hooks/sandbox.ts):
 * the host's tools read-only, the stage's work folder writable (only its scratch folder when the
 * stage reads its parent's root, which is a cache entry), the repo folder read-only, and the
 * hook's environment (with `build --env`'s variables) and helpers (rootfs_dir...). Nothing typed
 * there reaches the cache: a root of hard links to the parent entry's files (minimise) is copied
 * first, and artifacts hard-linked from the parent's are read-only. Its exit status is ignored:
 * the build fails with the stage's error after it.
 */
export async function openDebugShell(failure: StageFailure, logger: Logger): Promise<void> {
  const { plan, ctx } = failure;
  const hook = hookIn(failure.inputs);
  const { spec } = plan;
  const bundle = dirname(ctx.rootfs);
  const laidOut =
    basename(ctx.rootfs) === 'rootfs' && basename(ctx.bootfs) === 'bootfs' && dirname(ctx.bootfs) === bundle;
  const env = {
    ...makeHookEnv({
      kind: hook?.kind ?? 'base',
      pkgDir: laidOut ? bundle : ctx.rootfs,
      rootfs: ctx.rootfs,
      bootfs: ctx.bootfs,
      repoName: spec.name,
      repoDir: spec.repoDir,
      packageManager: spec.packagemanager,
      stage: ctx.stage,
      flavour: hook?.flavour,
      sourceDateEpoch: ctx.sourceDateEpoch,
      tmpDir: ctx.tmpDir,
      extra: hook?.env ?? plan.options.hookEnv,
    }),
    // The stage may have had no hook: say so rather than pretend it was base.sh.
    ISOBUILD_HOOK: hook?.kind ?? '',
    TERM: process.env.TERM ?? 'dumb',
  };
  const rcfile = join(ctx.tmpDir, 'debug-shell.rc');
  // The prompt is set here, not in the environment: the host's bash.bashrc would replace it.
  const prompt = `PS1=${quoteAlways(`[isobuild debug ${spec.name}:${ctx.stage}]# `)}\n`;
  await writeFile(rcfile, HOOK_HELPERS + prompt, { mode: 0o644 });
  if (failure.linked.rootfs) await unlinkFromParent(ctx.rootfs);
  const artifacts = failure.linked.artifacts ? [] : [ctx.artifacts];
  const writable = failure.mutatesRoot
    ? [ctx.rootfs, ctx.bootfs, ...artifacts, ctx.tmpDir]
    : [...artifacts, ctx.tmpDir];
  const readable = [
    spec.repoDir,
    ...(failure.mutatesRoot ? [] : [ctx.rootfs, ctx.bootfs]),
    ...(failure.linked.artifacts ? [ctx.artifacts] : []),
  ];
  const sandbox = hostSandboxArgs({
    writable,
    readable,
    cwd: ctx.rootfs,
    network: spec.raw ? hooksNetwork(spec) : false,
  });
  logger.warn(
    `stage ${ctx.stage} failed: a debug shell in its work root ${ctx.rootfs}` +
      `${failure.mutatesRoot ? '' : ' (read-only: the parent stage’s cached root)'}` +
      `${failure.linked.rootfs ? ' (a copy: its files were hard links to the parent stage’s cached root)' : ''}` +
      `${failure.linked.artifacts ? '; its artifacts folder is read-only (hard links to the cache)' : ''}` +
      `${hook ? `; the hook is ${describeHook(hook.file)} (run it again with: . ${hook.file})` : ''}` +
      '. Exit the shell to end the build; the work folder is removed then.',
  );
  await run('bwrap', [...sandbox, '--', 'bash', '--noprofile', '--rcfile', rcfile, '-i'], {
    cleanEnv: true,
    env,
    inherit: true,
    allowFailure: true,
    extraFds: confinementFds(),
    logger,
  });
}

/**
 * Replaces a root of hard links to a cache entry's files with a copy of them, so that a write in
 * the shell (`echo >> file`, an editor saving in place) cannot change the cached entry.
 */
async function unlinkFromParent(rootfs: string): Promise<void> {
  const linked = `${rootfs}.linked`;
  await rename(rootfs, linked);
  await copyTree(linked, rootfs);
  await removeTree(linked);
}
