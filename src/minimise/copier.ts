import {
  chmod,
  copyFile,
  constants,
  lchown,
  lstat,
  lutimes,
  mkdir,
  readlink,
  symlink,
  utimes,
} from 'node:fs/promises';
import { posix } from 'node:path';
import { hostPath } from '../rootfs/root-path.js';

/**
 * Copies the kept paths from one root to another with their modes, owners, symlinks and
 * mtimes intact (Python checks a .pyc against its source's mtime; a changed mtime means a
 * recompile, which a read-only appliance cannot write). Parents are made with their
 * source modes; directory times are set last, once nothing more is written into them.
 */
export async function copyKept(srcRoot: string, dstRoot: string, paths: readonly string[]): Promise<void> {
  const sorted = [...new Set(paths)].sort();
  const dirs: string[] = [];
  const ensureDir = async (p: string): Promise<void> => {
    if (p === '/') return;
    const dst = hostPath(dstRoot, p);
    const exists = await lstat(dst).catch(() => undefined);
    if (exists) return;
    await ensureDir(posix.dirname(p));
    const st = await lstat(hostPath(srcRoot, p));
    await mkdir(dst);
    await lchown(dst, st.uid, st.gid);
    await chmod(dst, st.mode & 0o7777);
    dirs.push(p);
  };
  for (const p of sorted) {
    if (p === '/') continue;
    const src = hostPath(srcRoot, p);
    const dst = hostPath(dstRoot, p);
    const st = await lstat(src);
    if (st.isDirectory()) {
      await ensureDir(p);
      continue;
    }
    await ensureDir(posix.dirname(p));
    if (await lstat(dst).catch(() => undefined)) continue;
    if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
      await lchown(dst, st.uid, st.gid);
      await lutimes(dst, st.mtime, st.mtime); // atime = mtime: the trace itself touched atimes
      continue;
    }
    if (!st.isFile()) continue; // device nodes, fifos, sockets: the target's devtmpfs provides them
    await copyFile(src, dst, constants.COPYFILE_FICLONE);
    await lchown(dst, st.uid, st.gid);
    await chmod(dst, st.mode & 0o7777); // after chown, which clears setuid bits
    await utimes(dst, st.mtime, st.mtime);
  }
  // Deepest first, so setting a child's time does not disturb its parent's.
  for (const d of dirs.sort().reverse()) {
    const st = await lstat(hostPath(srcRoot, d));
    await utimes(hostPath(dstRoot, d), st.mtime, st.mtime);
  }
  const rootSt = await lstat(srcRoot);
  await chmod(dstRoot, rootSt.mode & 0o7777);
}
