import { mkdir, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CommandError } from '../errors.js';
import type { ToolNeed } from '../exec/host-tools.js';
import { indent, tail } from '../exec/run.js';
import type { StageContext } from '../pipeline/types.js';
import { HOOK_PRELUDE, describeHook, makeHookEnv, type HookKind } from './hook-env.js';
import { hostSandboxArgs } from './sandbox.js';

const TAIL_LINES = 20;

/**
 * Run a repo hook (base.sh or staging.sh) with bash, VIC style: sourced after VIC's helper
 * functions, `set -e`, PKGDIR naming the bundle that holds rootfs/ and bootfs/. A failure
 * names the hook, the stage and the tail of its output.
 */
export async function runHook(ctx: StageContext, kind: HookKind, file: string): Promise<void> {
  const shown = describeHook(file);
  ctx.logger.info(`running ${kind} hook ${shown}`);
  const pkgDir = await bundleDirFor(ctx);
  const env = makeHookEnv({
    kind,
    pkgDir,
    rootfs: ctx.rootfs,
    bootfs: ctx.bootfs,
    repoName: ctx.spec.name,
    repoDir: ctx.spec.repoDir,
    packageManager: ctx.spec.packagemanager,
    stage: ctx.stage,
    flavour: ctx.plan.flavour,
    sourceDateEpoch: ctx.plan.options.sourceDateEpoch,
    tmpDir: ctx.tmpDir,
  });
  const bash = ['bash', '--noprofile', '--norc', '-c', HOOK_PRELUDE, file];
  const sandboxed = hooksSandboxed(ctx.spec);
  if (!sandboxed)
    ctx.logger.warn(`hooks.sandbox is false: ${shown} runs as root on the host, with every capability`);
  const [command, ...args] = sandboxed
    ? [
        'bwrap',
        ...hostSandboxArgs({
          writable: [pkgDir, ctx.rootfs, ctx.bootfs, ctx.spec.repoDir, ctx.tmpDir],
          readable: [dirname(file)],
          cwd: ctx.spec.repoDir,
        }),
        '--',
        ...bash,
      ]
    : bash;
  const res = await ctx.run(command!, args, {
    env,
    cleanEnv: true,
    cwd: ctx.spec.repoDir,
    allowFailure: true,
  });
  if (res.exitCode === 0) return;
  const outputTail = tail(res.all || res.stderr, TAIL_LINES);
  throw new CommandError(
    `stage ${ctx.stage}: ${kind} hook ${shown} failed (exit status ${res.exitCode})` +
      (outputTail ? `\n  output (last lines):\n${indent(outputTail, '    ')}` : '\n  (no output)'),
    { stage: ctx.stage, command: `bash ${file}`, exitCode: res.exitCode, outputTail },
  );
}

/** The host tools a hook needs: bash, and bubblewrap unless the sandbox is off. */
export function hookTools(spec: StageContext['spec'], name: string): ToolNeed[] {
  const needs: ToolNeed[] = [{ tool: 'bash', reason: `run the repo hook ${name}` }];
  if (hooksSandboxed(spec)) needs.push({ tool: 'bwrap', reason: `run the repo hook ${name} in a sandbox` });
  return needs;
}

/** Hooks run in the bubblewrap sandbox unless the spec says `hooks: { sandbox: false }`. */
export function hooksSandboxed(spec: StageContext['spec']): boolean {
  return spec.raw?.hooks?.sandbox !== false;
}

/**
 * VIC's hooks call `$(rootfs_dir $PKGDIR)`, i.e. $PKGDIR/rootfs. The pipeline's work folder
 * already has that shape; otherwise a folder of two links gives the hook the same view.
 */
async function bundleDirFor(ctx: StageContext): Promise<string> {
  const parent = dirname(ctx.rootfs);
  if (
    basename(ctx.rootfs) === 'rootfs' &&
    basename(ctx.bootfs) === 'bootfs' &&
    dirname(ctx.bootfs) === parent
  )
    return parent;
  const bundle = join(ctx.tmpDir, 'hook-bundle');
  await mkdir(bundle, { recursive: true });
  await symlink(ctx.rootfs, join(bundle, 'rootfs')).catch(ignoreExists);
  await symlink(ctx.bootfs, join(bundle, 'bootfs')).catch(ignoreExists);
  return bundle;
}

function ignoreExists(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err;
}
