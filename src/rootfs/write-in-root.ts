import { chmod, copyFile, lstat, lutimes, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { BuildError } from '../errors.js';
import { hostPath, walkInRoot } from './root-path.js';

/**
 * Writing into a build root: the parent folder is resolved in the root (so /bin -> usr/bin or
 * an absolute link never escapes to the host), whatever was at the path (a symlink included)
 * is replaced, and mode and mtime are fixed, so that two builds give the same bytes.
 */

/** Makes in-root directories (0755, mtime `epoch`) without following links out of the root. */
export async function mkdirInRoot(root: string, inRoot: string, epoch: number): Promise<string> {
  const r = await walkInRoot(root, inRoot);
  if (r.stat?.isDirectory()) return r.path;
  if (r.stat) throw new BuildError(`${inRoot} exists in the root and is not a directory`);
  await mkdirInRoot(root, posix.dirname(r.path), epoch);
  const host = hostPath(root, r.path);
  await mkdir(host);
  await chmod(host, 0o755);
  await utimes(host, epoch, epoch);
  return r.path;
}

/** The host path to write `path` at: its folder resolved inside the root, made when missing. */
export async function hostPathFor(root: string, path: string, epoch: number): Promise<string> {
  const dir = await mkdirInRoot(root, posix.dirname(posix.normalize('/' + path)), epoch);
  return hostPath(root, posix.join(dir, posix.basename(path)));
}

/** Writes a file into the root, replacing whatever was there, with a fixed mode and mtime. */
export async function writeRootFile(
  root: string,
  path: string,
  content: string | Buffer,
  mode: number,
  epoch: number,
): Promise<string> {
  const host = await hostPathFor(root, path, epoch);
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
  const host = await hostPathFor(root, path, epoch);
  await rm(host, { force: true });
  await copyFile(from, host);
  await chmod(host, mode);
  await utimes(host, epoch, epoch);
  return host;
}

/** Makes `path` in the root a symlink to `target` (with a fixed mtime), replacing what was there. */
export async function linkInRoot(root: string, path: string, target: string, epoch: number): Promise<void> {
  const host = await hostPathFor(root, path, epoch);
  await rm(host, { force: true, recursive: true });
  await symlink(target, host);
  await lutimes(host, epoch, epoch);
}

/** Creates an empty file in the root when there is none (VIC's `touch`); keeps an existing one. */
export async function touchInRoot(root: string, path: string, epoch: number): Promise<void> {
  const host = await hostPathFor(root, path, epoch);
  const existed = await lstat(host).then(
    () => true,
    () => false,
  );
  await writeFile(host, '', { flag: 'a' });
  // A new file's mode is ours to fix, never the umask's.
  if (!existed) await chmod(host, 0o644);
}

/** Removes a file from the root (its parent resolved in the root); says whether it was there. */
export async function removeFromRoot(root: string, path: string): Promise<boolean> {
  const r = await walkInRoot(root, posix.dirname(posix.normalize('/' + path)));
  const host = hostPath(root, posix.join(r.path, posix.basename(path)));
  const there = await lstat(host).then(
    () => true,
    () => false,
  );
  await rm(host, { force: true });
  return there;
}
