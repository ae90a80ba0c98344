import { mkdir, readdir, rename } from 'node:fs/promises';
import { dirname, join, resolve, basename } from 'node:path';
import { UsageError } from '../errors.js';
import { createTreeArchive } from './tree-archive.js';
import { copyTree, removeTree } from './fs-tree.js';

const TARBALL = /\.(tar|tar\.gz|tgz|tar\.zst|tar\.xz)$/;

/**
 * Write a stage's root out for inspection: a folder (copied with owners and modes) or a
 * tarball (sorted, numeric owners, mtimes clamped, so the same root gives the same bytes).
 * Written under a temp name beside the destination, then renamed.
 */
export async function exportRoot(rootfs: string, dest: string, sourceDateEpoch: number): Promise<string> {
  const target = resolve(dest);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  try {
    if (TARBALL.test(target)) {
      const compression = target.endsWith('.tar')
        ? 'none'
        : target.endsWith('.zst')
          ? 'zstd'
          : target.endsWith('.xz')
            ? 'xz'
            : 'gzip';
      await createTreeArchive(rootfs, tmp, sourceDateEpoch, compression);
    } else {
      const existing = await readdir(target).catch(() => undefined);
      if (existing && existing.length)
        throw new UsageError(`--export ${dest}: folder exists and is not empty`);
      await removeTree(target);
      await copyTree(rootfs, tmp);
    }
    await rename(tmp, target);
    return target;
  } catch (err) {
    await removeTree(tmp);
    throw err;
  }
}
