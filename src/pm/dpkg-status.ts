import { readFile } from 'node:fs/promises';
import { resolveInRoot } from '../rootfs/root-path.js';

/** Names of the packages a root's dpkg database says are installed (`install ok installed`). */
export async function installedDebPackages(root: string): Promise<Set<string>> {
  const status = await readFile(await resolveInRoot(root, '/var/lib/dpkg/status'), 'utf8').catch(() => '');
  const installed = new Set<string>();
  for (const stanza of status.split(/\n\n+/)) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    if (name && /^Status: install ok installed$/m.test(stanza)) installed.add(name);
  }
  return installed;
}
