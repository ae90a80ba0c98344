import { posix } from 'node:path';
import type { SyscallArg, SyscallEvent } from './strace-parse.js';

/**
 * Turns parsed syscalls into the paths (inside the root) that a workload used. The rules
 * were learnt on real traces: only calls made after the process's chroot succeeded count;
 * a failed call counts only when its error proves the path exists.
 */

/** How a path was used; 'create' paths may not exist in the root (their parent then matters). */
export type AccessKind = 'open' | 'create' | 'exec' | 'stat' | 'list' | 'cwd';

export interface Access {
  /** Absolute path inside the root, not yet resolved through symlinks ('..' kept). */
  path: string;
  kind: AccessKind;
  /** Whether the call follows a final symlink. */
  follow: boolean;
  pid: number;
  /** Line in the trace file, for messages. */
  line: number;
}

export interface TraceFacts {
  accesses: Access[];
  /** Paths that came back ENOENT/ENOTDIR after the chroot (for verification reports). */
  missing: string[];
  /** Pids that reached the chroot. */
  chrootedPids: number;
}

/** Errors that say nothing exists at the path; every other error proves existence. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'EFAULT', 'EBADF', 'ENODEV']);

interface PathSpec {
  /** Index of the dirfd argument (…at calls). */
  dir?: number;
  path: number;
  kind: AccessKind;
  follow?: boolean;
}

const plain = (kind: AccessKind, follow = true): PathSpec[] => [{ path: 0, kind, follow }];
const at = (kind: AccessKind, follow = true): PathSpec[] => [{ dir: 0, path: 1, kind, follow }];

const PATH_SYSCALLS: Record<string, PathSpec[]> = {
  open: plain('open'),
  creat: plain('create'),
  openat: at('open'),
  openat2: at('open'),
  execve: plain('exec'),
  execveat: at('exec'),
  stat: plain('stat'),
  stat64: plain('stat'),
  lstat: plain('stat', false),
  lstat64: plain('stat', false),
  access: plain('stat'),
  truncate: plain('open'),
  chmod: plain('stat'),
  chown: plain('stat'),
  lchown: plain('stat', false),
  utime: plain('stat'),
  utimes: plain('stat'),
  statfs: plain('stat'),
  getxattr: plain('stat'),
  lgetxattr: plain('stat', false),
  listxattr: plain('stat'),
  llistxattr: plain('stat', false),
  readlink: plain('stat', false),
  unlink: plain('stat', false),
  rmdir: plain('stat', false),
  mkdir: plain('create'),
  mknod: plain('create'),
  newfstatat: at('stat'),
  fstatat64: at('stat'),
  statx: at('stat'),
  faccessat: at('stat'),
  faccessat2: at('stat'),
  fchmodat: at('stat'),
  fchownat: at('stat'),
  futimesat: at('stat'),
  utimensat: at('stat'),
  name_to_handle_at: at('stat'),
  readlinkat: at('stat', false),
  unlinkat: at('stat', false),
  mkdirat: at('create'),
  mknodat: at('create'),
  rename: [
    { path: 0, kind: 'stat', follow: false },
    { path: 1, kind: 'create', follow: false },
  ],
  renameat: [
    { dir: 0, path: 1, kind: 'stat', follow: false },
    { dir: 2, path: 3, kind: 'create', follow: false },
  ],
  link: [
    { path: 0, kind: 'stat' },
    { path: 1, kind: 'create', follow: false },
  ],
  linkat: [
    { dir: 0, path: 1, kind: 'stat' },
    { dir: 2, path: 3, kind: 'create', follow: false },
  ],
  symlink: [{ path: 1, kind: 'create', follow: false }],
  symlinkat: [{ dir: 1, path: 2, kind: 'create', follow: false }],
};
PATH_SYSCALLS.renameat2 = PATH_SYSCALLS.renameat as PathSpec[];

const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork']);

interface PidState {
  cwd: string;
  chrooted: boolean;
}

/** Maps a host path printed by -y (the chroot's view from outside) to a path inside the root. */
export function stripRootPrefix(hostPath: string, rootPrefix: string): string | undefined {
  const prefix = rootPrefix.replace(/\/+$/, '');
  if (hostPath === prefix) return '/';
  if (hostPath.startsWith(prefix + '/')) return hostPath.slice(prefix.length);
  return undefined;
}

function fdPath(arg: SyscallArg | undefined, rootPrefix: string): string | undefined {
  return arg?.kind === 'fd' ? stripRootPrefix(arg.path, rootPrefix) : undefined;
}

function hasFlag(ev: SyscallEvent, flag: string): boolean {
  return ev.args.some((a) => a.kind === 'raw' && a.text.split('|').includes(flag));
}

/**
 * Reads the trace's events in order, tracking each pid's cwd and chroot state (inherited
 * through clone/fork), and returns the in-root paths the workload used.
 */
export function interpretTrace(events: readonly SyscallEvent[], rootPrefix: string): TraceFacts {
  // Pass 1: who forked whom. With -f a child's first line can come before the parent's
  // clone returns, so the parent must be known up front.
  const parentOf = new Map<number, number>();
  for (const ev of events) {
    if (CLONES.has(ev.name) && /^\d+$/.test(ev.ret) && Number(ev.ret) > 0)
      parentOf.set(Number(ev.ret), ev.pid);
  }
  const states = new Map<number, PidState>();
  const stateOf = (pid: number): PidState => {
    let s = states.get(pid);
    if (!s) {
      const parent = parentOf.get(pid);
      const ps = parent !== undefined && parent !== pid ? stateOf(parent) : undefined;
      s = ps ? { ...ps } : { cwd: '/', chrooted: false };
      states.set(pid, s);
    }
    return s;
  };

  const accesses: Access[] = [];
  const missing: string[] = [];
  for (const ev of events) {
    const st = stateOf(ev.pid);
    if (ev.name === 'chroot') {
      if (ev.ret === '0') {
        st.chrooted = true;
        st.cwd = '/'; // only meaningful after the chdir that follows; -y decorations win anyway
      }
      continue;
    }
    if (!st.chrooted) continue;
    const ok = ev.errno === undefined && ev.ret !== '?';
    const proves = ok || (ev.errno !== undefined && !ABSENT.has(ev.errno)) || ev.ret === '?';

    if (ev.name === 'chdir') {
      const arg = ev.args[0];
      if (arg?.kind === 'string') {
        const p = joinPath(st.cwd, arg.value);
        if (ok) st.cwd = posix.normalize(p);
        if (proves) accesses.push({ path: p, kind: 'cwd', follow: true, pid: ev.pid, line: ev.line });
      }
      continue;
    }
    if (ev.name === 'fchdir') {
      const p = fdPath(ev.args[0], rootPrefix);
      if (ok && p) {
        st.cwd = p;
        accesses.push({ path: p, kind: 'cwd', follow: true, pid: ev.pid, line: ev.line });
      }
      continue;
    }
    if (ev.name === 'getdents64' || ev.name === 'getdents') {
      const p = fdPath(ev.args[0], rootPrefix);
      if (ok && p) accesses.push({ path: p, kind: 'list', follow: true, pid: ev.pid, line: ev.line });
      continue;
    }
    const specs = PATH_SYSCALLS[ev.name];
    if (!specs) continue;
    for (const spec of specs) {
      const p = pathOfArg(ev, spec, st, rootPrefix);
      if (p === undefined) continue;
      if (!proves) {
        if (ev.errno === 'ENOENT' || ev.errno === 'ENOTDIR') missing.push(posix.normalize(p));
        continue;
      }
      let kind = spec.kind;
      if (kind === 'open' && hasFlag(ev, 'O_CREAT')) kind = 'create';
      const follow =
        (spec.follow ?? true) && !hasFlag(ev, 'AT_SYMLINK_NOFOLLOW') && !hasFlag(ev, 'O_NOFOLLOW');
      accesses.push({ path: p, kind, follow, pid: ev.pid, line: ev.line });
    }
  }
  const chrootedPids = [...states.values()].filter((s) => s.chrooted).length;
  return { accesses, missing: [...new Set(missing)].sort(), chrootedPids };
}

function joinPath(base: string, p: string): string {
  if (p.startsWith('/')) return p;
  return base.endsWith('/') ? base + p : `${base}/${p}`;
}

function pathOfArg(ev: SyscallEvent, spec: PathSpec, st: PidState, rootPrefix: string): string | undefined {
  const arg = ev.args[spec.path];
  const dirArg = spec.dir !== undefined ? ev.args[spec.dir] : undefined;
  if (arg?.kind !== 'string') return undefined;
  if (arg.value.startsWith('/')) return arg.value;
  // Relative: against the dirfd (-y shows its path) or, for AT_FDCWD, the process's cwd.
  let base: string | undefined;
  if (dirArg?.kind === 'fd') base = stripRootPrefix(dirArg.path, rootPrefix);
  else if (dirArg === undefined || (dirArg.kind === 'raw' && dirArg.text === 'AT_FDCWD')) base = st.cwd;
  if (base === undefined) return undefined;
  return arg.value === '' ? base : joinPath(base, arg.value);
}
