import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from '../rootfs/root-path.js';
import { addPackageFile, compareText, type PackageFiles } from './types.js';

export const DPKG_INFO = '/var/lib/dpkg/info';

/**
 * dpkg's file lists (info/<package>[:<arch>].list, one path a line), or undefined when the root
 * has no dpkg database. The paths are the packages' own: /bin/bash even where /bin links to usr/bin.
 */
export async function readDpkgFiles(root: string): Promise<PackageFiles | undefined> {
  const info = await resolveInRoot(root, DPKG_INFO, false);
  const names = await readdir(info).catch(() => undefined);
  if (!names) return undefined;
  const files = new Map<string, string[]>();
  for (const name of names.filter((n) => n.endsWith('.list')).sort(compareText)) {
    const pkg = name.slice(0, -'.list'.length).replace(/:.*$/, '');
    for (const path of (await readFile(join(info, name), 'utf8')).split('\n'))
      if (path.startsWith('/') && path !== '/.') addPackageFile(files, path, pkg);
  }
  return files;
}
