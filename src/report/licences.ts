import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The licences a Debian package's copyright file names: its `License:` fields when the file is
 * machine-readable (DEP-5), else the /usr/share/common-licenses files free text points to; in
 * order of first appearance. Undefined when the root has no copyright file for the package.
 */
export async function readDebianLicences(root: string, pkg: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, 'usr/share/doc', pkg, 'copyright'), 'utf8');
  } catch {
    return undefined;
  }
  const found = new Set<string>();
  for (const m of text.matchAll(/^License:[ \t]*(\S[^\n]*)$/gm)) found.add(m[1]!.trim());
  if (found.size === 0)
    for (const m of text.matchAll(/\/usr\/share\/common-licenses\/([A-Za-z0-9.+-]*[A-Za-z0-9+])/g))
      found.add(m[1]!);
  return [...found];
}
