import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A name beside `dest` for writing before the final rename (same folder, so same file system). */
export function tempSibling(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.tmp-${randomBytes(4).toString('hex')}`);
}

/**
 * Makes `dest` in one step: `write` fills a temp name beside it, which is then renamed over it,
 * so a reader (another build, the next run after a crash) sees the old file or the new one,
 * never half of one; the temp name is removed when anything fails. Also what keeps a hard link
 * into the cache from being written through.
 */
export async function replaceFile(
  dest: string,
  write: (tmp: string) => Promise<unknown>,
  opts: { mkdir?: boolean } = {},
): Promise<void> {
  if (opts.mkdir) await mkdir(dirname(dest), { recursive: true });
  const tmp = tempSibling(dest);
  try {
    await write(tmp);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Writes `data` to `dest` whole (replaceFile). */
export function writeFileWhole(
  dest: string,
  data: string | Uint8Array,
  opts: { mkdir?: boolean } = {},
): Promise<void> {
  return replaceFile(dest, (tmp) => writeFile(tmp, data), opts);
}
