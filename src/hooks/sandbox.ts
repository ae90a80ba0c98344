import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The bubblewrap sandbox repo code runs in (hooks, init.sh's install functions), as mkosi runs
 * its scripts: root, but in its own mount, pid, ipc and uts namespaces, with the capabilities a
 * package script needs (chown, mknod, chroot...) and none that could undo the sandbox
 * (CAP_SYS_ADMIN would remount the host read-write) or reach the host's kernel.
 */
export const SANDBOX_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
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
  'CAP_NET_RAW',
  'CAP_AUDIT_WRITE',
] as const;

/** Host files a hook must never read, hidden behind an empty file when they exist. */
const SECRET_FILES = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/sudoers'];
/** Host folders replaced by an empty tmpfs: home folders (ssh keys, tokens), ssh host keys, scratch. */
const HIDDEN_DIRS = ['/root', '/home', '/etc/ssh', '/tmp', '/var/tmp', '/run'];

/** Namespaces and capabilities: the part every sandbox shares. */
export function confinementArgs(): string[] {
  return [
    '--die-with-parent',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--cap-drop',
    'ALL',
    ...SANDBOX_CAPS.flatMap((cap) => ['--cap-add', cap]),
  ];
}

export interface HostSandbox {
  /** Folders the code may write (the root being built, the repo folder, its scratch). */
  writable: readonly string[];
  /** Folders it reads that may lie under a hidden one (the hook's own folder in a checkout under /tmp). */
  readable?: readonly string[];
  cwd: string;
}

/**
 * bwrap arguments (up to, not including, `--`) for code that needs the host's tools: the host
 * read-only, its secrets hidden, the given folders writable at their own paths (binds come
 * after the hiding tmpfs mounts, and outer folders before inner ones, so a root under /tmp or
 * a checkout under /root stays visible).
 */
export function hostSandboxArgs(o: HostSandbox): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  for (const dir of HIDDEN_DIRS) if (existsSync(dir)) args.push('--tmpfs', dir);
  for (const file of SECRET_FILES) if (existsSync(file)) args.push('--ro-bind', '/dev/null', file);
  const modes = new Map<string, '--bind' | '--ro-bind'>();
  for (const dir of o.readable ?? []) modes.set(resolve(dir), '--ro-bind');
  // A folder named both ways is writable.
  for (const dir of o.writable) modes.set(resolve(dir), '--bind');
  const dirs = [...modes.keys()].sort((a, b) => a.length - b.length);
  for (const dir of dirs) args.push(modes.get(dir)!, dir, dir);
  args.push('--chdir', resolve(o.cwd), ...confinementArgs());
  return args;
}
