import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../fs/hash.js';

export interface FileDigest {
  name: string;
  size: number;
  sha256: string;
}

export interface OutputDigest {
  size: number;
  sha256: string;
  /** For a folder output (kernel+initrd): each file; the folder's sha256 is over their sha256sum lines. */
  files?: FileDigest[];
}

/**
 * Size and sha256 of a finished output, for the `output` event. A folder's digest is the sha256
 * of its `sha256sum`-style listing (sorted names), so `sha256sum * | sha256sum` in it agrees.
 */
export async function digestOutput(path: string): Promise<OutputDigest> {
  const st = await stat(path);
  if (!st.isDirectory()) return { size: st.size, sha256: await sha256File(path) };
  const files: FileDigest[] = [];
  for (const name of (await readdir(path)).sort()) {
    const file = join(path, name);
    const fst = await stat(file);
    if (fst.isFile()) files.push({ name, size: fst.size, sha256: await sha256File(file) });
  }
  const listing = files.map((f) => `${f.sha256}  ${f.name}\n`).join('');
  return {
    size: files.reduce((sum, f) => sum + f.size, 0),
    sha256: createHash('sha256').update(listing).digest('hex'),
    files,
  };
}
