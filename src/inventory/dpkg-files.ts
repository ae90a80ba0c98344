import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const DPKG_INFO = 'var/lib/dpkg/info';

/**
 * Which package installed each path, from dpkg's file lists (info/PKG.list, or PKG:ARCH.list):
 * path → package name. Undefined when the root has no dpkg database (a minimised root). A path
 * two packages list (shared folders) keeps the first; only files matter to the callers.
 */
export async function readDpkgFileOwners(root: string): Promise<Map<string, string> | undefined> {
  const dir = join(root, DPKG_INFO);
  const names = await readdir(dir).catch(() => undefined);
  if (!names) return undefined;
  const owners = new Map<string, string>();
  for (const name of names.filter((n) => n.endsWith('.list')).sort()) {
    const pkg = name.slice(0, -'.list'.length).replace(/:.*$/, '');
    for (const path of (await readFile(join(dir, name), 'utf8')).split('\n'))
      if (path.startsWith('/') && !owners.has(path)) owners.set(path, pkg);
  }
  return owners;
}
