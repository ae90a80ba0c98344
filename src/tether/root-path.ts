import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

/** Directories searched for commands in the root, as the init's PATH has them. */
export const ROOT_PATH_DIRS = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
] as const;

/**
 * Resolves `path` inside `root` as the booted system would see it: symlinks (absolute ones too,
 * like /sbin/modprobe -> /bin/kmod) are followed relative to the root, never the host. Returns the
 * in-root path of the final file, or undefined when it does not exist.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  let pending = posix.normalize(path).split('/').filter(Boolean);
  let resolved = '/';
  let hops = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved = posix.dirname(resolved);
      continue;
    }
    const next = posix.join(resolved, part);
    let st;
    try {
      st = await lstat(root + next);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      resolved = next;
      continue;
    }
    if (++hops > 40) return undefined;
    const target = await readlink(root + next);
    if (target.startsWith('/')) resolved = '/';
    pending = [...target.split('/').filter(Boolean), ...pending];
  }
  return resolved;
}

/** Finds a command on the root's PATH; returns its in-root path (symlinks followed). */
export async function findCommandInRoot(root: string, command: string): Promise<string | undefined> {
  for (const dir of ROOT_PATH_DIRS) {
    const hit = await resolveInRoot(root, `${dir}/${command}`);
    if (hit) {
      const st = await lstat(root + hit);
      if (st.isFile() && (st.mode & 0o111) !== 0) return hit;
    }
  }
  return undefined;
}
