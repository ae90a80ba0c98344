import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeSize {
  /** Entries that are not folders: files, symlinks, device nodes... */
  files: number;
  /** Bytes of regular files (a symlink's target is counted where it lives, not at the link). */
  bytes: number;
  /** Every entry below the folder, folders included (inodes a file system will need). */
  entries: number;
}

/**
 * How much a tree holds: one measure for the module payload (drivers), the minimise report
 * and the container disk, so the same root is never measured two ways. A missing folder is empty.
 */
export async function measureTree(dir: string): Promise<TreeSize> {
  const size: TreeSize = { files: 0, bytes: 0, entries: 0 };
  const visit = async (d: string): Promise<void> => {
    const names = (await readdir(d).catch(() => [] as string[])).sort();
    for (const name of names) {
      const path = join(d, name);
      const st = await lstat(path);
      size.entries++;
      if (st.isDirectory()) await visit(path);
      else {
        size.files++;
        if (st.isFile()) size.bytes += st.size;
      }
    }
  };
  await visit(dir);
  return size;
}
