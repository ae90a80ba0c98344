import type { Stats } from 'node:fs';
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
 * `onFile` hears each regular file's path below `dir` ("/usr/bin/bash") and its lstat (budgets' contributors).
 */
export async function measureTree(
  dir: string,
  onFile?: (path: string, st: Stats) => void,
): Promise<TreeSize> {
  const size: TreeSize = { files: 0, bytes: 0, entries: 0 };
  const visit = async (d: string, prefix: string): Promise<void> => {
    const names = (await readdir(d).catch(() => [] as string[])).sort();
    for (const name of names) {
      const path = join(d, name);
      const st = await lstat(path);
      size.entries++;
      if (st.isDirectory()) await visit(path, `${prefix}/${name}`);
      else {
        size.files++;
        if (st.isFile()) {
          size.bytes += st.size;
          onFile?.(`${prefix}/${name}`, st);
        }
      }
    }
  };
  await visit(dir, '');
  return size;
}
