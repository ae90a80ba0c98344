import { readlinkSync, type Stats } from 'node:fs';
import { lstatOrUndefined } from '../fs/exists.js';
import { posix } from 'node:path';

/**
 * Paths inside a build root, resolved the way a chroot would: absolute link targets are
 * re-rooted and `..` stops at the root. The host's realpath would follow a root's
 * lib64 -> /lib or /sbin/modprobe -> /bin/kmod to the build host's own files, so every
 * module that reads or writes a root resolves its paths here and nowhere else.
 */

export interface Resolved {
  /** The path with every symlink resolved (in-root, absolute, normalised). */
  path: string;
  /** In-root paths of the symlinks followed, in order (a minimised root needs the links too). */
  links: string[];
  /** lstat of the final path; undefined when it does not exist in the root. */
  stat?: Stats;
  /** Set when the walk gave up after MAX_LINKS links (the kernel's ELOOP). */
  tooManyLinks?: boolean;
}

const MAX_LINKS = 40; // the kernel's limit (ELOOP)

/** Directories searched for commands in the root, as the init's PATH has them. */
export const ROOT_PATH_DIRS = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
] as const;

/** Joins an in-root path onto the host path of the root. */
export function hostPath(root: string, inRoot: string): string {
  const normal = posix.normalize('/' + inRoot);
  return normal === '/' ? root : root.replace(/\/+$/, '') + normal;
}

/**
 * Resolves `path` inside `root` component by component. With `followLast` false a final
 * symlink is kept as it is (lstat/readlink semantics), so a caller can replace or remove the
 * link itself. A missing component ends the walk: the rest of the path is appended
 * (normalised, `..` still stopping at the root) and `stat` is undefined.
 */
export async function walkInRoot(root: string, path: string, followLast = true): Promise<Resolved> {
  const links: string[] = [];
  const todo = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  const rest = () => posix.normalize('/' + [...done, ...todo].join('/'));
  let hops = 0;
  while (todo.length) {
    const comp = todo.shift() as string;
    if (comp === '..') {
      done.pop(); // '..' at the root stays at the root, as in a chroot
      continue;
    }
    const cur = '/' + [...done, comp].join('/');
    const st = lstatOrUndefined(hostPath(root, cur));
    if (!st) {
      done.push(comp);
      return { path: rest(), links };
    }
    const isLast = todo.length === 0;
    if (st.isSymbolicLink() && (followLast || !isLast)) {
      if (++hops > MAX_LINKS) return { path: cur, links, tooManyLinks: true };
      links.push(cur);
      const target = readlinkSync(hostPath(root, cur));
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    done.push(comp);
    if (!isLast && !st.isDirectory()) return { path: rest(), links };
    if (isLast) return { path: cur, links, stat: st };
  }
  const final = '/' + done.join('/');
  return { path: final, links, stat: lstatOrUndefined(hostPath(root, final)) };
}

/** The host path of `path` inside `root`, for reading or writing it (see walkInRoot). */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const r = await walkInRoot(root, path, followLast);
  if (r.tooManyLinks) throw new Error(`too many levels of symbolic links in ${path} under ${root}`);
  return hostPath(root, r.path);
}

/** The in-root path `path` resolves to when it exists in the root, else undefined. */
export async function findInRoot(root: string, path: string): Promise<string | undefined> {
  const r = await walkInRoot(root, path);
  return r.stat && !r.tooManyLinks ? r.path : undefined;
}

/** Finds a command on the root's PATH; returns its in-root path (symlinks followed). */
export async function findCommandInRoot(root: string, command: string): Promise<string | undefined> {
  for (const dir of ROOT_PATH_DIRS) {
    const r = await walkInRoot(root, `${dir}/${command}`);
    if (r.stat?.isFile() && (r.stat.mode & 0o111) !== 0) return r.path;
  }
  return undefined;
}
