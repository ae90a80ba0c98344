import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
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
 * A file changed less than this long before it was read is read again next time: a rewrite of
 * the same size within one tick of the file system's clock would keep the stamp (git's "racy"
 * index entries). Ticks are milliseconds where times have nanoseconds, up to 2 s (FAT, ext3).
 */
function settleMs(st: BigIntStats): number {
  return st.ctimeNs % 1_000_000_000n === 0n ? 2000 : 100;
}

/** Reads go through one buffer: each chunk is hashed before the next await. */
const chunk = Buffer.allocUnsafe(1 << 20);
/** Let timers and pipes run between this many bytes of a large file. */
const YIELD_BYTES = 16 << 20;

/**
 * sha256 of one file's contents, hex. Synchronous reads (a thread-pool round trip per chunk made
 * the streams twice as slow), with a turn of the event loop every 16 MiB.
 */
export async function sha256File(path: string): Promise<string> {
  const fd = openSync(path, 'r');
  try {
    const before = fstatSync(fd, { bigint: true });
    const id = `${before.dev}:${before.ino}`;
    const stamp = `${before.size}:${before.mtimeNs}:${before.ctimeNs}`;
    const known = digests.get(id);
    if (known?.stamp === stamp) return known.sha256;
    const started = Date.now();
    const hash = sha256();
    for (let read = 0, n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) {
      hash.update(chunk.subarray(0, n));
      read += n;
      if (read % YIELD_BYTES < n) await new Promise((resolve) => setImmediate(resolve));
    }
    const digest = hash.digest('hex');
    const after = fstatSync(fd, { bigint: true });
    const settled = Number(after.ctimeMs) < started - settleMs(after);
    if (settled && `${after.size}:${after.mtimeNs}:${after.ctimeNs}` === stamp)
      digests.set(id, { stamp, sha256: digest });
    return digest;
  } finally {
    closeSync(fd);
  }
}
