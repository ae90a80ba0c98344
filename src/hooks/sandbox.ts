import { readlinkSync, realpathSync } from 'node:fs';
import { lstatOrUndefined } from '../fs/exists.js';
import { resolve } from 'node:path';
import { seccompFilter } from './seccomp.js';

/**
 * The bubblewrap sandbox repo code runs in (hooks, init.sh's install functions), as mkosi runs
 * its scripts: root, but in its own mount, pid, ipc, uts and (unless the spec shares it)
 * network namespaces, with Docker's default capabilities minus CAP_NET_RAW: what a package
 * script needs (chown, mknod, chroot...) and none that reaches past the sandbox. No
 * CAP_DAC_READ_SEARCH (open_by_handle_at would open the host's root by inode number), no
 * CAP_SYS_ADMIN (it would remount the host read-write), no CAP_NET_RAW (raw packets).
 */
export const SANDBOX_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_SETFCAP',
  'CAP_MKNOD',
  'CAP_SYS_CHROOT',
  'CAP_NET_BIND_SERVICE',
  'CAP_AUDIT_WRITE',
] as const;

/** The descriptor bwrap reads the seccomp program from: the command's first extra fd. */
const SECCOMP_FD = 3;

export interface Confinement {
  /** Share the host's network namespace (the spec's hooks.network); else only a loopback of its own. */
  network: boolean;
}

/** Namespaces, capabilities and the seccomp filter: the part every sandbox shares. */
export function confinementArgs(o: Confinement): string[] {
  return [
    '--die-with-parent',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(o.network ? [] : ['--unshare-net']),
    '--cap-drop',
    'ALL',
    ...SANDBOX_CAPS.flatMap((cap) => ['--cap-add', cap]),
    ...(seccompFilter() ? ['--seccomp', String(SECCOMP_FD)] : []),
  ];
}

/**
 * What a command started with confinementArgs reads on its extra descriptors (the runner's
 * `extraFds`): the compiled seccomp filter, none where no filter exists for the host's arch.
 */
export function confinementFds(): Uint8Array[] {
  const filter = seccompFilter();
  return filter ? [filter] : [];
}

/**
 * bwrap arguments for a fresh /proc whose sysctls cannot be written: root with DAC_OVERRIDE may
 * write most of /proc/sys, which is the host kernel's (kernel.core_pattern names a program the
 * host runs as root when any process crashes), and /proc/sysrq-trigger reboots the host.
 * bwrap's own cover of them is skipped on some kernels, so it is done here, whatever bwrap does.
 */
export function procArgs(): string[] {
  const args = ['--proc', '/proc', '--ro-bind', '/proc/sys', '/proc/sys'];
  if (lstatOrUndefined('/proc/sysrq-trigger')) args.push('--ro-bind', '/dev/null', '/proc/sysrq-trigger');
  return args;
}

/** The host's folders a hook's tools come from (bash, coreutils, chroot and their libraries). */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];
/** Host files under /etc a hook must never read, hidden behind an empty file when they exist. */
const SECRET_FILES = [
  '/etc/shadow',
  '/etc/shadow-',
  '/etc/gshadow',
  '/etc/gshadow-',
  '/etc/sudoers',
  '/etc/security/opasswd',
  '/etc/apt/auth.conf',
];
/** Host folders under /etc replaced by an empty tmpfs: ssh host keys, TLS private keys, credentials. */
const SECRET_DIRS = ['/etc/ssh', '/etc/ssl/private', '/etc/sudoers.d', '/etc/apt/auth.conf.d'];
/** Empty, throwaway tmpfs folders: HOME and the usual scratch places. */
const SCRATCH_DIRS = ['/root', '/tmp', '/var/tmp', '/run'];

export interface HostSandbox {
  /** Folders the code may write (the root being built, its bundle, its scratch). */
  writable: readonly string[];
  /** Folders it reads (the repo folder, the hook's own folder), bound read-only at their paths. */
  readable?: readonly string[];
  cwd: string;
  network: boolean;
}

/**
 * bwrap arguments (up to, not including, `--`) for code that needs the host's tools: only the
 * host's system folders, read-only and without its secrets, on bwrap's own empty root; the given
 * folders at their own paths (binds come after the scratch tmpfs mounts, and outer folders before
 * inner ones, so a root under /tmp or a checkout under /root stays visible). Nothing else of the
 * host (/home, /srv, /opt, /var, /mnt, /media) exists inside.
 */
export function hostSandboxArgs(o: HostSandbox): string[] {
  const args: string[] = [];
  for (const path of SYSTEM_PATHS) {
    const st = lstatOrUndefined(path);
    // Merged /usr: /bin is a link into /usr, and stays one.
    if (st?.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (st?.isDirectory()) args.push('--ro-bind', path, path);
  }
  for (const file of SECRET_FILES)
    if (lstatOrUndefined(file)?.isFile()) args.push('--ro-bind', '/dev/null', file);
  for (const dir of SECRET_DIRS) if (lstatOrUndefined(dir)?.isDirectory()) args.push('--tmpfs', dir);
  for (const dir of SCRATCH_DIRS) args.push('--tmpfs', dir);
  args.push('--dev', '/dev', ...procArgs());
  if (o.network) args.push(...resolverArgs());
  const modes = new Map<string, '--bind' | '--ro-bind'>();
  for (const dir of o.readable ?? []) modes.set(resolve(dir), '--ro-bind');
  // A folder named both ways is writable.
  for (const dir of o.writable) modes.set(resolve(dir), '--bind');
  const dirs = [...modes.keys()].sort((a, b) => a.length - b.length);
  for (const dir of dirs) args.push(modes.get(dir)!, dir, dir);
  args.push('--chdir', resolve(o.cwd), ...confinementArgs({ network: o.network }));
  return args;
}

/**
 * /etc/resolv.conf is often a link into /run (systemd-resolved, NetworkManager), which the
 * sandbox empties: a hook given the network gets the file it names, read-only, at its path.
 */
function resolverArgs(): string[] {
  const link = '/etc/resolv.conf';
  if (!lstatOrUndefined(link)?.isSymbolicLink()) return [];
  try {
    const target = realpathSync(link);
    return ['--ro-bind', target, target];
  } catch {
    return []; // A dangling link: the host has no resolver to share either.
  }
}
