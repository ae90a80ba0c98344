import { readDpkgFiles } from '../inventory/dpkg-files.js';
import { firstOwners } from '../inventory/types.js';

/** Folders merged-/usr roots keep only under /usr, while dpkg's lists still name them at the top. */
const MERGED = ['/bin/', '/sbin/', '/lib/', '/lib32/', '/lib64/', '/libx32/'];

/**
 * Path → the package whose dpkg `.list` names it, from a root that still has dpkg's database
 * (`var/lib/dpkg/info`); undefined when it has none (an RPM root, a minimised one). Paths are
 * also entered under /usr for merged-/usr roots, where /bin/sh is really /usr/bin/sh.
 */
export async function readDpkgFileOwners(root: string): Promise<Map<string, string> | undefined> {
  const files = await readDpkgFiles(root);
  if (!files) return undefined;
  const owners = new Map<string, string>();
  for (const [path, pkg] of firstOwners(files)) {
    owners.set(path, pkg);
    if (MERGED.some((m) => path.startsWith(m))) owners.set(`/usr${path}`, pkg);
  }
  return owners;
}
