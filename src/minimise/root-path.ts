import { lstat, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/**
 * Path resolution inside a root directory, done by hand: the host's realpath would follow
 * an absolute symlink (/lib -> /usr/lib) to the host's own files. Every link met on the
 * way is reported, since the minimised root needs the link as well as its target.
 */

export interface Resolved {
  /** The path with every symlink resolved (in-root, absolute, normalised). */
  path: string;
  /** In-root paths of the symlinks followed, in order. */
  links: string[];
  /** lstat of the final path, undefined when it does not exist in the root. */
  stat?: Stats;
}

const MAX_LINKS = 40; // the kernel's limit (ELOOP)

/** Joins an in-root path onto the host path of the root. */
export function hostPath(root: string, inRoot: string): string {
  return inRoot === '/' ? root : root.replace(/\/+$/, '') + inRoot;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/**
 * Resolves `path` (absolute, inside `root`) component by component. With `followLast`
 * false a final symlink is kept as it is (lstat/readlink semantics). Missing components
 * end the walk: the rest of the path is appended unresolved and `stat` is undefined.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<Resolved> {
  const links: string[] = [];
  const todo = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const comp = todo.shift() as string;
    if (comp === '..') {
      done.pop(); // '..' at the root stays at the root, as in a chroot
      continue;
    }
    if (comp === '.') continue;
    const cur = '/' + [...done, comp].join('/');
    const st = await lstatOrUndefined(hostPath(root, cur));
    if (!st) {
      return { path: '/' + [...done, comp, ...todo].join('/'), links };
    }
    const isLast = todo.length === 0;
    if (st.isSymbolicLink() && (followLast || !isLast)) {
      if (++hops > MAX_LINKS) return { path: cur, links };
      links.push(cur);
      const target = await readlink(hostPath(root, cur));
      const parts = target.split('/').filter((c) => c !== '' && c !== '.');
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...parts);
      continue;
    }
    if (!isLast && !st.isDirectory()) return { path: '/' + [...done, comp, ...todo].join('/'), links };
    done.push(comp);
    if (isLast) return { path: cur, links, stat: st };
  }
  return {
    path: '/' + done.join('/'),
    links,
    stat: await lstatOrUndefined(hostPath(root, '/' + done.join('/'))),
  };
}
