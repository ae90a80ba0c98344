import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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

/** sha256 of one file's contents, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = sha256();
  await new Promise<void>((resolve, reject) => {
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve())
      .on('error', reject);
  });
  return hash.digest('hex');
}
