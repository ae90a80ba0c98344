import { copyFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { replaceFile } from '../fs/replace-file.js';

/**
 * Moves a file into place by rename, copying first when the two are on different file
 * systems; `dest` is replaced in one step either way, never half-written.
 */
export async function moveFile(src: string, dest: string): Promise<void> {
  try {
    await rename(src, dest);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
  }
  await copyInto(src, dest);
  await rm(src, { force: true });
}

/**
 * Copies `src` to `dest` through a temp name. Never copies onto `dest` in place: artifacts
 * are hard links into the stage cache, and writing through one would change a cached entry.
 */
export function copyInto(src: string, dest: string): Promise<void> {
  return replaceFile(dest, (tmp) => copyFile(src, tmp));
}

/** Sets a file's times to min(its mtime, epoch), so copies carry no build-time dates. */
export async function clampTimes(path: string, sourceDateEpoch: number): Promise<void> {
  const st = await stat(path);
  const t = Math.min(Math.floor(st.mtimeMs / 1000), sourceDateEpoch);
  await utimes(path, t, t);
}
