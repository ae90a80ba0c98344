import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

const MAX_LINKS = 40;

/**
 * The host path of `path` as seen from inside `root`, following symlinks the way a chroot
 * would: absolute link targets are re-rooted and `..` stops at the root. A build root is full
 * of links such as lib64 -> /lib or lib -> usr/lib; following them with the host's view would
 * read or write the build host's own /lib.
 *
 * With `followLast: false` the last component is not followed (lstat semantics), so a caller
 * can replace or remove a link itself.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const parts = posix
    .normalize('/' + path)
    .split('/')
    .filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    const isLast = parts.length === 0;
    let target: string | undefined;
    if (!isLast || followLast) {
      try {
        if ((await lstat(host)).isSymbolicLink()) target = await readlink(host);
      } catch {
        // A missing component: the rest of the path cannot be links either.
      }
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many levels of symbolic links in ${path} under ${root}`);
    const next = target.split('/').filter(Boolean);
    if (target.startsWith('/')) resolved.length = 0;
    parts.unshift(...next);
  }
  return join(root, ...resolved);
}
