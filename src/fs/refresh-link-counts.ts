import { statfs } from 'node:fs/promises';
import { run, type RunOptions } from '../exec/run.js';

/** statfs's f_type on a FUSE mount (linux/magic.h). */
export const FUSE_SUPER_MAGIC = 0x65735546;

/**
 * Makes the kernel ask a FUSE file system again for the attributes of each file of `dir` that
 * it counts as unlinked, before a tool that finds hard links by st_nlink > 1 reads the tree
 * (cp -a, tar, mksquashfs, mkfs.ext4 -d): the kernel keeps the count a file had before a
 * link() for about a second, so on disorderfs (reprotest's file-order variation) those tools
 * stored a fresh link as two files, and the image differed with the file system it was built
 * on. Nothing to do elsewhere: the count is the file system's own.
 */
export async function refreshLinkCounts(
  dir: string,
  opts: Pick<RunOptions, 'logger' | 'stage'> = {},
): Promise<void> {
  if ((await statfs(dir)).type !== FUSE_SUPER_MAGIC) return;
  // stat --cached=never is statx(AT_STATX_FORCE_SYNC), which Node does not offer; it only calls
  // statx when the format needs a field, hence %h. The path is an argument, never shell text.
  await run(
    'sh',
    [
      '-c',
      'find "$1" ! -type d -links 1 -print0 | xargs -0r stat --cached=never --format=%h >/dev/null',
      'sh',
      dir,
    ],
    opts,
  );
}
