import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../pipeline/hash.js';
import { compareText, type FileRecord } from './types.js';

/**
 * Every entry of a root, as the initrd holds it (the initrd is a cpio of this root): path,
 * type, mode, and size and sha256 for files or the target for links. Sorted by path.
 */
export async function listRootFiles(root: string): Promise<FileRecord[]> {
  const out: FileRecord[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort(compareText);
    for (const name of names) {
      const host = join(dir, name);
      const path = `${prefix}/${name}`;
      const st = await lstat(host);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isSymbolicLink()) out.push({ path, type: 'link', mode, target: await readlink(host) });
      else if (st.isFile())
        out.push({ path, type: 'file', mode, size: st.size, sha256: await sha256File(host) });
      else if (st.isDirectory()) {
        out.push({ path, type: 'dir', mode });
        await walk(host, path);
      } else out.push({ path, type: 'other', mode });
    }
  };
  await walk(root, '');
  return out;
}
