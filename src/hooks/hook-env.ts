import { isAbsolute, relative } from 'node:path';

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
}

/**
 * The whole environment of a hook, documented in docs/hooks.md. VIC sourced its repo hooks
 * from base.sh / bootstrap-staging.sh, so they saw that script's PKGDIR, REPO, REPODIR and
 * PACKAGE_MANAGER; the ISOBUILD_* names are the stable, documented interface.
 */
export function makeHookEnv(input: HookEnvInput): Record<string, string> {
  return {
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
}

/**
 * Bash run before the hook: VIC's utils.sh helpers the repo hooks call, with VIC's meaning
 * (rootfs_dir DIR prints DIR/rootfs), then the hook sourced under `set -e` as VIC's
 * base.sh did. Fixed text: the hook's path arrives as $0, never inside this string, and $0
 * is what VIC's hooks read for their repo's name (basename "$(dirname "$0")").
 */
export const HOOK_PRELUDE = `set -e
rootfs_dir() { echo "$1/rootfs"; }
bootfs_dir() { echo "$1/bootfs"; }
rootfs_cmd() { ( cd "$1/rootfs" || return 1; shift; "$@" ); }
rootfs_prepend() {
  local bundle="$1" out=() p
  shift
  for p in "$@"; do out+=("$bundle/rootfs$p"); done
  echo "\${out[@]}"
}
cd "$REPODIR"
. "$0"
`;

/** The hook's path as the user would type it: relative to the working folder when inside it. */
export function describeHook(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
