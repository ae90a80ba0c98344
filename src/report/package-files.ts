import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Folders merged-/usr roots keep only under /usr, while dpkg's lists still name them at the top. */
const MERGED = ['/bin/', '/sbin/', '/lib/', '/lib32/', '/lib64/', '/libx32/'];

/**
 * Path → the package whose dpkg `.list` names it, from a root that still has dpkg's database
 * (`var/lib/dpkg/info`); undefined when it has none (an RPM root, a minimised one). Paths are
 * also entered under /usr for merged-/usr roots, where /bin/sh is really /usr/bin/sh.
 */
export async function readDpkgFileOwners(root: string): Promise<Map<string, string> | undefined> {
  const info = join(root, 'var/lib/dpkg/info');
  let names: string[];
  try {
    names = await readdir(info);
  } catch {
    return undefined;
  }
  const owners = new Map<string, string>();
  for (const name of names.filter((n) => n.endsWith('.list')).sort()) {
    // busybox:amd64.list (multi-arch) and bash.list: the package is the name before the colon.
    const pkg = name.slice(0, -'.list'.length).replace(/:.*$/, '');
    const text = await readFile(join(info, name), 'utf8');
    for (const path of text.split('\n')) {
      if (!path || path === '/.') continue;
      owners.set(path, pkg);
      if (MERGED.some((m) => path.startsWith(m))) owners.set(`/usr${path}`, pkg);
    }
  }
  return owners;
}
