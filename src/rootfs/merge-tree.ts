import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BuildError } from '../errors.js';
import { run } from '../exec/run.js';
import { resolveInRoot } from './root-path.js';

export interface MergeOptions {
  /** For error messages. */
  stage?: string;
}

/**
 * The whole of a tree that a tool makes in a folder of its own (mmdebstrap's root, umoci's
 * bundle), laid over `root`: `unpack` makes `target` (which does not exist yet), mergeTree
 * moves it into the root, and the scratch folder under `tmpDir` is removed whatever happens.
 */
export async function unpackThenMerge(
  tmpDir: string,
  root: string,
  unpack: (target: string) => Promise<void>,
  opts: MergeOptions = {},
): Promise<void> {
  await mkdir(tmpDir, { recursive: true });
  const scratch = await mkdtemp(join(tmpDir, 'unpack-'));
  // mkdtemp's 0700 would shut out a tool that drops privileges inside the target: apt then
  // downloads unsandboxed and leaves its partial/ folders owned by root instead of _apt.
  await chmod(scratch, 0o755);
  try {
    const target = join(scratch, 'root');
    await unpack(target);
    await mergeTree(target, root, opts);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Move everything under `from` into the root `into`, the way a package manager lays files
 * over an existing root: directories merge (also through links such as lib -> usr/lib inside
 * the root), other entries replace what was there. `from` is emptied.
 *
 * Used where a tool insists on an empty target (mmdebstrap) or where an archive would
 * otherwise replace a root's directory links with real directories (cpio, dpkg-deb -x).
 */
export async function mergeTree(from: string, into: string, opts: MergeOptions = {}): Promise<void> {
  await mergeDir(from, into, '/', opts);
}

async function mergeDir(fromDir: string, root: string, rel: string, opts: MergeOptions): Promise<void> {
  const names = (await readdir(fromDir)).sort();
  for (const name of names) {
    const src = join(fromDir, name);
    const relPath = posix.join(rel, name);
    const dest = await resolveInRoot(root, relPath, false);
    const srcStat = await lstat(src);
    const destStat = await lstat(dest).catch(() => undefined);

    if (!destStat) {
      await moveEntry(src, dest);
      continue;
    }
    if (srcStat.isDirectory()) {
      // A directory meets a directory, or a link inside the root that leads to one: merge.
      const destDir = destStat.isSymbolicLink() ? await resolveInRoot(root, relPath) : dest;
      const destDirStat = await stat(destDir).catch(() => undefined);
      if (destDirStat?.isDirectory()) {
        await mergeDir(src, root, relPath, opts);
        if (!destStat.isSymbolicLink()) {
          // The incoming tree is the package manager's word on modes and owners.
          await chmod(dest, srcStat.mode & 0o7777);
          await lchown(dest, srcStat.uid, srcStat.gid);
        }
        await rmdir(src);
        continue;
      }
      await rm(dest, { force: true });
      await moveEntry(src, dest);
      continue;
    }
    if (destStat.isDirectory()) {
      // A file or link would replace a real directory: only safe when the directory is empty.
      if ((await readdir(dest)).length) {
        throw new BuildError(
          `cannot put ${relPath} (${kindOf(srcStat)}) over the non-empty directory ${relPath} already in the root`,
          opts.stage,
        );
      }
      await rmdir(dest);
    }
    await moveEntry(src, dest);
  }
}

async function moveEntry(src: string, dest: string): Promise<void> {
  try {
    await rename(src, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    // Different file systems: copy keeping owners, modes, links and device nodes, then drop the source.
    await run('cp', ['-a', '--no-target-directory', src, dest]);
    await rm(src, { recursive: true, force: true });
  }
}

function kindOf(st: Awaited<ReturnType<typeof lstat>>): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  return 'a file';
}
