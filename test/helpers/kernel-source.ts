import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { sha256File } from '../../src/fs/hash.js';
import { debianDeb, makeOnce, testCacheRoot } from './test-cache.js';

/** Debian 12's kernel source package: one .deb for every architecture. */
const SOURCE_PACKAGE = 'linux-source-6.1';
const SOURCE_DEB = /^linux-source-6\.1_[^_]+_all\.deb$/;

/**
 * Debian 12's unpacked Linux 6.1 source tree (1.5 GB), from linux-source-6.1's .deb, in the test
 * cache under the .deb's sha256, so a new upload of the package gets a tree of its own. Read it
 * only: a test that configures or builds uses `make O=<its own folder>`.
 */
export async function kernelSourceTree(): Promise<string> {
  const deb = await debianDeb(SOURCE_PACKAGE, SOURCE_DEB);
  const digest = (await sha256File(deb)).slice(0, 16);
  return makeOnce(join(testCacheRoot(), `linux-source-${digest}`), async (partial) => {
    const unpacked = `${partial}.deb`;
    try {
      await run('dpkg-deb', ['-x', deb, unpacked], { stage: 'test cache' });
      const dir = join(unpacked, 'usr/src');
      const tarball = (await readdir(dir)).find((n) => /^linux-source-.*\.tar\.xz$/.test(n));
      if (!tarball) throw new Error(`${deb} holds no usr/src/linux-source-*.tar.xz`);
      await mkdir(partial);
      await run('tar', ['-xJf', join(dir, tarball), '-C', partial, '--strip-components=1'], {
        stage: 'test cache',
      });
    } finally {
      await rm(unpacked, { recursive: true, force: true });
    }
  });
}
