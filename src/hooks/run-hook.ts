import { mkdir, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CommandError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { indent, tail } from '../exec/run.js';
import type { StageContext } from '../stage/types.js';
import type { Flavour, ResolvedSpec } from '../spec/types.js';
import { HOOK_PRELUDE, describeHook, makeHookEnv, type HookKind } from './hook-env.js';
import { recordHookFiles } from './hook-files.js';
import { confinementFds, hostSandboxArgs } from './sandbox.js';

const TAIL_LINES = 20;

/** What running a hook reads of the spec: part of the inputs of the stage that runs it. */
export interface HookInputs {
  readonly kind: HookKind;
  readonly file: string;
  readonly repo: string;
  readonly repoDir: string;
  readonly packagemanager: string;
  /** Only for staging hooks: base.sh's result is shared by every flavour. */
  readonly flavour?: Flavour;
  readonly sandboxed: boolean;
  /** hooks.network: the sandbox shares the host's network (the build's outbound network). */
  readonly network: boolean;
  /** `build --env`: variables added to the fixed environment; absent when none were given. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The stage's meta records the files the hook wrote (hooks/hook-files.ts). In the inputs so
   * roots cached before hooks were recorded are built again, and only the stages that run a hook.
   */
  readonly recordsFiles: true;
}

type HookSpec = Pick<ResolvedSpec, 'name' | 'repoDir' | 'packagemanager' | 'hooks' | 'raw'>;

type HookEnv = Readonly<Record<string, string>> | undefined;

/**
 * The hook of this kind the repo has, as a stage's inputs hold it; undefined when it has none.
 * `env` (build --env) is part of them, so it is part of the key of exactly the stages whose
 * hooks see it; a repo without hooks ignores it.
 */
export function hookInputsOf(
  spec: HookSpec,
  kind: 'base',
  flavour?: undefined,
  env?: HookEnv,
): HookInputs | undefined;
export function hookInputsOf(
  spec: HookSpec,
  kind: 'staging',
  flavour: Flavour,
  env?: HookEnv,
): HookInputs | undefined;
export function hookInputsOf(
  spec: HookSpec,
  kind: HookKind,
  flavour?: Flavour,
  env?: HookEnv,
): HookInputs | undefined {
  const file = spec.hooks[kind];
  if (!file) return undefined;
  const sorted = Object.keys(env ?? {}).sort();
  return {
    kind,
    file,
    repo: spec.name,
    repoDir: spec.repoDir,
    packagemanager: spec.packagemanager,
    ...(flavour ? { flavour } : {}),
    sandboxed: hooksSandboxed(spec),
    network: hooksNetwork(spec),
    recordsFiles: true,
    // Sorted, so the order of --env flags does not change the key.
    ...(sorted.length ? { env: Object.fromEntries(sorted.map((k) => [k, env![k]!])) } : {}),
  };
}

/**
 * Run a repo hook (base.sh or staging.sh) with bash, VIC style: sourced after VIC's helper
 * functions, `set -e`, PKGDIR naming the bundle that holds rootfs/ and bootfs/. A failure
 * names the hook, the stage and the tail of its output.
 */
export async function runHook(ctx: StageContext, hook: HookInputs): Promise<void> {
  const { kind, file } = hook;
  const shown = describeHook(file);
  ctx.logger.info(`running ${kind} hook ${shown}`);
  const pkgDir = await bundleDirFor(ctx);
  const env = makeHookEnv({
    kind,
    pkgDir,
    rootfs: ctx.rootfs,
    bootfs: ctx.bootfs,
    repoName: hook.repo,
    repoDir: hook.repoDir,
    packageManager: hook.packagemanager,
    stage: ctx.stage,
    flavour: hook.flavour,
    sourceDateEpoch: ctx.sourceDateEpoch,
    tmpDir: ctx.tmpDir,
    extra: hook.env,
  });
  const bash = ['bash', '--noprofile', '--norc', '-c', HOOK_PRELUDE, file];
  if (!hook.sandboxed)
    ctx.logger.warn(`hooks.sandbox is false: ${shown} runs as root on the host, with every capability`);
  const [command, ...args] = hook.sandboxed
    ? [
        'bwrap',
        ...hostSandboxArgs({
          writable: [pkgDir, ctx.rootfs, ctx.bootfs, ctx.tmpDir],
          // The repo folder is the build's input, and a cache key's: a hook reads it, never writes it.
          readable: [hook.repoDir, dirname(file)],
          cwd: hook.repoDir,
          network: hook.network,
        }),
        '--',
        ...bash,
      ]
    : bash;
  const res = await recordHookFiles(ctx.meta, ctx.rootfs, basename(file), () =>
    ctx.run(command!, args, {
      env,
      cleanEnv: true,
      cwd: hook.repoDir,
      allowFailure: true,
      ...(hook.sandboxed ? { extraFds: confinementFds() } : {}),
    }),
  );
  if (res.exitCode === 0) return;
  const outputTail = tail(res.all || res.stderr, TAIL_LINES);
  throw new CommandError(
    `${kind} hook ${shown} failed (exit status ${res.exitCode})` +
      (outputTail ? `\n  output (last lines):\n${indent(outputTail, '    ')}` : '\n  (no output)'),
    { stage: ctx.stage, command: `bash ${file}`, exitCode: res.exitCode, outputTail },
  );
}

/** The host tools a hook needs: bash, and bubblewrap unless the sandbox is off. */
export function hookTools(hook: Pick<HookInputs, 'file' | 'sandboxed'>): DeclaredTool[] {
  const name = basename(hook.file);
  // The host's bash runs the hook (its version can change what the hook does); bwrap only confines it.
  const needs: DeclaredTool[] = [
    { tool: 'bash', reason: `run the repo hook ${name}`, version: ['--version'] },
  ];
  if (hook.sandboxed)
    needs.push({ tool: 'bwrap', reason: `run the repo hook ${name} in a sandbox`, version: 'none' });
  return needs;
}

/** Hooks run in the bubblewrap sandbox unless the spec says `hooks: { sandbox: false }`. */
export function hooksSandboxed(spec: Pick<ResolvedSpec, 'raw'>): boolean {
  return spec.raw?.hooks?.sandbox !== false;
}

/** Hooks have no network unless the spec says `hooks: { network: true }`. */
export function hooksNetwork(spec: Pick<ResolvedSpec, 'raw'>): boolean {
  return spec.raw?.hooks?.network === true;
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
