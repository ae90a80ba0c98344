import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { confinementArgs, confinementFds, procArgs } from './sandbox.js';
import type { Logger } from '../log/logger.js';
import { walkInRoot } from '../rootfs/root-path.js';
import { run, type RunResult } from '../exec/run.js';

/** Mounted fresh in the sandbox, whatever the root holds there. */
const FRESH: readonly string[] = ['dev', 'proc', 'tmp', 'run'];

/** Shells tried, in order, when no command is given; a busybox without applet links runs as `busybox sh`. */
const SHELLS: readonly (readonly string[])[] = [
  ['/bin/bash'],
  ['/usr/bin/bash'],
  ['/bin/sh'],
  ['/usr/bin/sh'],
  ['/bin/busybox', 'sh'],
  ['/usr/bin/busybox', 'sh'],
];

/**
 * bwrap arguments (up to `--`) that show `root` as `/`, read-only, and nothing of the host's
 * files. bwrap's own new root is a throwaway tmpfs; each top-level entry of the root is
 * bound read-only (or recreated, for links) onto it, so a root without /proc or /tmp folders
 * still gets them, and no write, not even a top-level one, reaches the root folder, which is
 * a cache entry.
 */
export async function rootSandboxArgs(root: string): Promise<string[]> {
  const args: string[] = [];
  for (const name of (await readdir(root)).sort()) {
    if (FRESH.includes(name)) continue;
    const from = join(root, name);
    const st = await lstat(from);
    if (st.isSymbolicLink()) args.push('--symlink', await readlink(from), `/${name}`);
    else if (st.isDirectory() || st.isFile()) args.push('--ro-bind', from, `/${name}`);
  }
  args.push('--dev', '/dev', ...procArgs(), '--tmpfs', '/tmp', '--tmpfs', '/run');
  // The network stays shared: the shell is the user's own, on a read-only root.
  args.push('--hostname', 'isobuild', '--chdir', '/', ...confinementArgs({ network: true }));
  return args;
}

/** The sandbox's PATH, where a command named without a slash is looked for. */
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function isProgram(root: string, path: string): Promise<boolean> {
  const found = await walkInRoot(root, path);
  return !!(found.stat?.isFile() && found.stat.mode & 0o111);
}

/**
 * The command to run: the user's, if the root has its program (as the sandbox's PATH finds
 * it), else the first shell the root has; undefined when the root has neither. A minimised
 * root keeps only what the image runs, often no shell: bwrap's own "execvp sh: No such file"
 * would not say which root, nor what to open instead.
 */
export async function findCommandInRoot(
  root: string,
  argv: readonly string[],
): Promise<string[] | undefined> {
  if (argv.length > 0) {
    const program = argv[0]!;
    const places = program.includes('/') ? [program] : ROOT_PATH.split(':').map((d) => `${d}/${program}`);
    for (const place of places) if (await isProgram(root, place)) return [...argv];
    return undefined;
  }
  for (const shell of SHELLS) if (await isProgram(root, shell[0]!)) return [...shell];
  return undefined;
}

/** What findCommandInRoot looked for, in words: "`sh`", or "shell (tried /bin/bash, ...)". */
export function describeWanted(argv: readonly string[]): string {
  return argv.length > 0
    ? `\`${argv[0]}\` (PATH ${ROOT_PATH})`
    : `shell (tried ${SHELLS.map((s) => s.join(' ')).join(', ')})`;
}

/** The command to run (see findCommandInRoot); a root without it is the user's to change. */
export async function commandInRoot(root: string, argv: readonly string[]): Promise<string[]> {
  const command = await findCommandInRoot(root, argv);
  if (command) return command;
  throw new UsageError(
    `the root has no ${describeWanted(argv)}${argv.length ? '' : ': give a command after --'}`,
  );
}

export interface RootShellOptions {
  /** Pass the terminal through (an interactive shell); else output is captured. */
  inherit: boolean;
  /** Shown in the shell's prompt, e.g. "debian-12:staging". */
  label: string;
  logger?: Logger;
}

/**
 * Run argv (default: a shell) in a read-only sandbox of `root`; never throws for the command's
 * own exit status, which the caller passes on.
 */
export async function runInRoot(
  root: string,
  argv: readonly string[],
  o: RootShellOptions,
): Promise<RunResult> {
  const command = await commandInRoot(root, argv);
  // A fixed environment: nothing of the caller's (tokens, proxies, host paths) enters the root.
  const env = {
    PATH: ROOT_PATH,
    HOME: '/root',
    LANG: 'C.UTF-8',
    TERM: process.env.TERM ?? 'dumb',
    PS1: `[isobuild ${o.label}]# `,
  };
  return run('bwrap', [...(await rootSandboxArgs(root)), '--', ...command], {
    cleanEnv: true,
    env,
    inherit: o.inherit,
    allowFailure: true,
    extraFds: confinementFds(),
    logger: o.logger,
  });
}
