import { rename, rm, stat, utimes } from 'node:fs/promises';
import { run } from '../exec/run.js';
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
 * Runs of zero blocks stay holes (`cp --sparse=always`): a root or disk image is mostly blocks
 * nothing wrote, which the cache entry keeps as holes and a plain copy writes out in full (a
 * 2 GiB raw disk). The mode is the source's, whatever the umask, as Node's copyFile gives it.
 */
export async function copyInto(src: string, dest: string): Promise<void> {
  await replaceFile(dest, (tmp) =>
    run('cp', ['--sparse=always', '--reflink=auto', '--preserve=mode', '--no-target-directory', src, tmp]),
  );
}

/** Sets a file's times to min(its mtime, epoch), so copies carry no build-time dates. */
export async function clampTimes(path: string, sourceDateEpoch: number): Promise<void> {
  const st = await stat(path);
  const t = Math.min(Math.floor(st.mtimeMs / 1000), sourceDateEpoch);
  await utimes(path, t, t);
}
