import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Feed a file or a whole folder (names, modes, link targets, contents; sorted) into a hash. */
export async function hashPath(hash: Hash, path: string, label = path): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    hash.update(`missing ${label}\0`);
    return;
  }
  if (st.isSymbolicLink()) {
    hash.update(`link ${label} ${await readlink(path)}\0`);
  } else if (st.isDirectory()) {
    hash.update(`dir ${label} ${st.mode & 0o7777}\0`);
    const names = (await readdir(path)).sort();
    for (const name of names) await hashPath(hash, join(path, name), `${label}/${name}`);
  } else {
    hash.update(`file ${label} ${st.mode & 0o7777} ${st.size}\0`);
    await new Promise<void>((resolve, reject) => {
      createReadStream(path)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolve())
        .on('error', reject);
    });
  }
}

export function sha256(): Hash {
  return createHash('sha256');
}

/**
 * Digests read in this process, by file identity (device and inode: the hard links of a cache
 * entry's artifacts into the next entry are one file) and stamp (size, mtime, ctime). A no-op
 * build checks the iso entry's artifacts and then the initrd entry's, which are the same files.
 */
const digests = new Map<string, { stamp: string; sha256: string }>();

/**
 * A file changed less than this long before it was read is read again next time: file times
 * move in clock ticks of a few milliseconds, so a rewrite of the same size within one tick
 * would keep the stamp (git's "racy" index entries).
 */
const SETTLED_MS = 2000;

/** sha256 of one file's contents, hex. */
export async function sha256File(path: string): Promise<string> {
  const before = await stat(path, { bigint: true });
  const id = `${before.dev}:${before.ino}`;
  const stamp = `${before.size}:${before.mtimeNs}:${before.ctimeNs}`;
  const known = digests.get(id);
  if (known?.stamp === stamp) return known.sha256;
  const started = Date.now();
  const hash = sha256();
  await new Promise<void>((resolve, reject) => {
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve())
      .on('error', reject);
  });
  const sha256Hex = hash.digest('hex');
  const after = await stat(path, { bigint: true });
  const settled = Number(after.ctimeMs) < started - SETTLED_MS;
  if (settled && `${after.size}:${after.mtimeNs}:${after.ctimeNs}` === stamp)
    digests.set(id, { stamp, sha256: sha256Hex });
  return sha256Hex;
}
