import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { recordGroupsIn } from '../exec/process-group.js';
import { setChildTmpDir } from '../exec/run.js';
import type { Logger } from '../log/logger.js';
import { cacheLayout, removeStaleWork } from '../cache/cache.js';
import { removeTree } from '../fs/fs-tree.js';

/**
 * One folder per running build under the cache's tmp/: the process groups it started (so the
 * next build can end them if this one is SIGKILLed) and the TMPDIR every tool gets, so that
 * tools' own temp folders (mmdebstrap's gpghome, apt's lists) go when the build ends.
 * Named `<kind>-<pid>-<hex>`: removeStaleWork knows it by the dead pid.
 */
export interface BuildSession {
  dir: string;
  tmpDir: string;
  close(): Promise<void>;
}

export async function openBuildSession(cacheTmp: string, kind = 'build'): Promise<BuildSession> {
  const dir = join(cacheTmp, `${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tmpDir = join(dir, 'tmp');
  await mkdir(tmpDir, { recursive: true, mode: 0o755 });
  // Like /tmp: tools that drop to another user (apt's _apt) still write here.
  await chmod(tmpDir, 0o1777);
  recordGroupsIn(join(dir, 'groups'));
  setChildTmpDir(tmpDir);
  // Our own temp folders (os.tmpdir() reads TMPDIR) go there too: qemu's console file, disks.
  const previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmpDir;
  return {
    dir,
    tmpDir,
    async close() {
      recordGroupsIn(undefined);
      setChildTmpDir(undefined);
      if (previousTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previousTmp;
      await removeTree(dir);
    },
  };
}

/**
 * For commands outside a build (`run`, `boot`): first remove what killed runs left in the
 * cache's tmp/ (their disks, consoles, still-running VMs), then run `fn` in a session of its own.
 */
export async function withSession<T>(
  cacheRoot: string,
  kind: string,
  logger: Logger,
  fn: () => Promise<T>,
): Promise<T> {
  const layout = cacheLayout(cacheRoot);
  await removeStaleWork(layout, logger);
  const session = await openBuildSession(layout.tmp, kind);
  try {
    return await fn();
  } finally {
    await session.close();
  }
}
