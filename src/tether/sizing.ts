import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The tether tmpfs is sized at build time from what the init copies into it (VIC's
 * .tempfs_size): every file rounded up to a page, plus a fifth for overhead, plus a floor for
 * what the tether writes at run time.
 */
const PAGE = 4096;
const MIB = 1024 * 1024;
/** Runtime files (xtables lock, the entropy daemon's state...) and slack. */
export const TETHER_HEADROOM_MIB = 8;

export interface TreeUsage {
  bytes: number;
  files: number;
}

/** Bytes a tree takes in tmpfs: each file a whole number of pages. */
export function tmpfsBytes(fileSizes: readonly number[]): number {
  return fileSizes.reduce((sum, size) => sum + Math.max(PAGE, Math.ceil(size / PAGE) * PAGE), 0);
}

/** MiB to mount the tether tmpfs with, for contents taking `bytes` in tmpfs. */
export function tetherSizeMiB(bytes: number): number {
  return Math.ceil((bytes * 1.2) / MIB) + TETHER_HEADROOM_MIB;
}

/** Sizes of the regular files under `dir` (symlinks and folders cost a page each in tmpfs). */
export async function listFileSizes(dir: string): Promise<number[]> {
  const sizes: number[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sizes.push(PAGE, ...(await listFileSizes(path)));
    else if (entry.isFile()) sizes.push((await lstat(path)).size);
    else sizes.push(PAGE);
  }
  return sizes;
}
