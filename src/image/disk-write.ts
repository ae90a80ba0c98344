import { lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { run } from '../exec/run.js';
import { sha256File } from '../fs/hash.js';
import { copyInto, tempSibling } from './files.js';
import { convertArgs, fixVmdkCid, type DiskFormatName } from './disk-formats.js';

/** The raw disk the disk-image stage leaves in its artifacts (stages/disk-image.ts names it). */
export const RAW_DISK_ARTIFACT = 'disk.raw';

/**
 * Writes the stage's raw disk at `dest` in `format`: raw is copied; the others are converted by
 * qemu-img into a temp folder beside the destination and renamed, so a failed conversion never
 * leaves a partial disk. A VMDK gets a content id derived from the raw disk's digest.
 */
export async function writeDiskFormat(
  artifacts: string,
  dest: string,
  format: DiskFormatName,
): Promise<void> {
  const raw = join(artifacts, RAW_DISK_ARTIFACT);
  if (!(await stat(raw).catch(() => undefined)))
    throw new BuildError(`output ${format}: ${raw} is missing (did the build stop early?)`);
  if ((await lstat(dest).catch(() => undefined))?.isDirectory())
    throw new UsageError(`output ${dest} is a folder; name the ${format} file`);
  await mkdir(dirname(dest), { recursive: true });
  if (format === 'raw') return copyInto(raw, dest);
  // A VMDK's descriptor names its extent file: convert under the destination's own name, in a
  // temp folder beside it, so the bytes do not carry a temp name.
  const tmpDir = tempSibling(dest);
  const tmp = join(tmpDir, basename(dest));
  try {
    await mkdir(tmpDir);
    await run('qemu-img', convertArgs(format, raw, tmp), { stage: `output ${format}` });
    if (format === 'vmdk') await fixVmdkCid(tmp, await sha256File(raw));
    await rename(tmp, dest);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}
