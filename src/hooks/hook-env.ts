import { isAbsolute, relative } from 'node:path';
import { UsageError } from '../errors.js';

/** The hooks a repo folder may hold; VIC's base.sh and staging.sh. */
export const HOOK_KINDS = ['base', 'staging'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

/** The PATH every hook and chrooted command sees: the build host's caller never leaks in. */
export const FIXED_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface HookEnvInput {
  kind: HookKind;
  /** The bundle folder holding rootfs/ and bootfs/ (VIC's PKGDIR). */
  pkgDir: string;
  rootfs: string;
  bootfs: string;
  repoName: string;
  repoDir: string;
  packageManager: string;
  stage: string;
  /** Only for staging hooks: base.sh runs once for every flavour. */
  flavour?: string;
  sourceDateEpoch: number;
  tmpDir: string;
  /** `build --env`: the user's variables, added to the fixed ones (parseHookEnv checked them). */
  extra?: Readonly<Record<string, string>>;
}

/** The names makeHookEnv always sets; `build --env` may not replace them. */
export const FIXED_HOOK_VARS = [
  'PATH',
  'HOME',
  'LC_ALL',
  'TMPDIR',
  'SOURCE_DATE_EPOCH',
  'PKGDIR',
  'REPO',
  'REPODIR',
  'PACKAGE_MANAGER',
  'ISOBUILD_ROOTFS',
  'ISOBUILD_BOOTFS',
  'ISOBUILD_REPO',
  'ISOBUILD_REPODIR',
  'ISOBUILD_STAGE',
  'ISOBUILD_HOOK',
  'ISOBUILD_FLAVOUR',
] as const;
type FixedHookVar = (typeof FIXED_HOOK_VARS)[number];

/** Variables bash reads before the hook's first line runs: set by --env, they would change the prelude. */
const SHELL_STARTUP_VARS = ['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'IFS', 'CDPATH'];
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `build --env KEY=VAL` (repeatable; mkosi's --environment), or `--env KEY` for the caller's
 * value of KEY. Names the fixed environment sets, ISOBUILD_* (reserved for isobuild) and those
 * bash reads at start are usage errors: the documented hook environment stays true.
 */
export function parseHookEnv(
  pairs: readonly string[],
  callerEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!VAR_NAME.test(name))
      throw new UsageError(`--env ${pair}: "${name}" is not a variable name (letters, digits, _)`);
    if ((FIXED_HOOK_VARS as readonly string[]).includes(name) || name.startsWith('ISOBUILD_'))
      throw new UsageError(
        `--env ${pair}: ${name} is part of the fixed hook environment (docs/hooks.md) and cannot be replaced`,
      );
    if (SHELL_STARTUP_VARS.includes(name))
      throw new UsageError(`--env ${pair}: bash reads ${name} before the hook starts; it cannot be set`);
    const value = eq < 0 ? callerEnv[name] : pair.slice(eq + 1);
    if (value === undefined)
      throw new UsageError(`--env ${name}: ${name} is not set here; give a value with --env ${name}=VALUE`);
    env[name] = value;
  }
  return env;
}

/**
 * The whole environment of a hook, documented in docs/hooks.md. VIC sourced its repo hooks
 * from base.sh / bootstrap-staging.sh, so they saw that script's PKGDIR, REPO, REPODIR and
 * PACKAGE_MANAGER; the ISOBUILD_* names are the stable, documented interface.
 */
export function makeHookEnv(input: HookEnvInput): Record<string, string> {
  const fixed: Record<FixedHookVar, string> = {
    PATH: FIXED_PATH,
    HOME: '/root',
    LC_ALL: 'C',
    TMPDIR: input.tmpDir,
    SOURCE_DATE_EPOCH: String(input.sourceDateEpoch),
    PKGDIR: input.pkgDir,
    REPO: input.repoName,
    REPODIR: input.repoDir,
    PACKAGE_MANAGER: input.packageManager,
    ISOBUILD_ROOTFS: input.rootfs,
    ISOBUILD_BOOTFS: input.bootfs,
    ISOBUILD_REPO: input.repoName,
    ISOBUILD_REPODIR: input.repoDir,
    ISOBUILD_STAGE: input.stage,
    ISOBUILD_HOOK: input.kind,
    ISOBUILD_FLAVOUR: input.kind === 'staging' ? (input.flavour ?? '') : '',
  };
  return { ...input.extra, ...fixed };
}

/** VIC's utils.sh helpers the repo hooks call, with VIC's meaning (rootfs_dir DIR prints DIR/rootfs). */
export const HOOK_HELPERS = `rootfs_dir() { echo "$1/rootfs"; }
bootfs_dir() { echo "$1/bootfs"; }
rootfs_cmd() { ( cd "$1/rootfs" || return 1; shift; "$@" ); }
rootfs_prepend() {
  local bundle="$1" out=() p
  shift
  for p in "$@"; do out+=("$bundle/rootfs$p"); done
  echo "\${out[@]}"
}
`;

/**
 * Bash run before the hook: the helpers, then the hook sourced under `set -e` as VIC's
 * base.sh did. Fixed text: the hook's path arrives as $0, never inside this string, and $0
 * is what VIC's hooks read for their repo's name (basename "$(dirname "$0")").
 */
export const HOOK_PRELUDE = `set -e
${HOOK_HELPERS}cd "$REPODIR"
. "$0"
`;

/** The hook's path as the user would type it: relative to the working folder when inside it. */
export function describeHook(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
