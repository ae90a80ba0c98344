import { chmod, copyFile, lstat, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { resolveInRoot } from './root-path.js';

/**
 * The host path for writing `path` inside `root`: the parent folder is resolved in the root (so
 * /bin -> usr/bin or an absolute link never escapes to the host) and made when missing.
 */
export async function hostPathFor(root: string, path: string): Promise<string> {
  const parent = posix.dirname(path);
  let resolved = await resolveInRoot(root, parent);
  if (!resolved) {
    await mkdir(root + parent, { recursive: true });
    resolved = (await resolveInRoot(root, parent)) ?? parent;
  }
  return root + posix.join(resolved, posix.basename(path));
}

/** Writes a file into the root, replacing whatever was there (a symlink included), with a fixed mtime. */
export async function writeRootFile(
  root: string,
  path: string,
  content: string | Buffer,
  mode: number,
  epoch: number,
): Promise<string> {
  const host = await hostPathFor(root, path);
  await rm(host, { force: true });
  await writeFile(host, content, { mode });
  await chmod(host, mode);
  await utimes(host, epoch, epoch);
  return host;
}

/** Copies a host file into the root with a fixed mode and mtime. */
export async function copyIntoRoot(
  root: string,
  from: string,
  path: string,
  mode: number,
  epoch: number,
): Promise<string> {
  const host = await hostPathFor(root, path);
  await rm(host, { force: true });
  await copyFile(from, host);
  await chmod(host, mode);
  await utimes(host, epoch, epoch);
  return host;
}

/** Makes `path` in the root a symlink to `target`, replacing what was there. */
export async function linkInRoot(root: string, path: string, target: string): Promise<void> {
  const host = await hostPathFor(root, path);
  await rm(host, { force: true, recursive: true });
  await symlink(target, host);
}

/** Removes a file from the root (its parent resolved in the root); says whether it was there. */
export async function removeFromRoot(root: string, path: string): Promise<boolean> {
  const host = await hostPathFor(root, path);
  const there = await lstat(host).then(
    () => true,
    () => false,
  );
  await rm(host, { force: true });
  return there;
}
