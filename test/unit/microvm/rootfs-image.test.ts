import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { copyTree } from '../../../src/fs/fs-tree.js';
import {
  makeExt4Image,
  makeSquashfsImage,
  squashfsCompression,
  stableUuid,
} from '../../../src/image/rootfs-image.js';

/** A small root: folders, files, a symlink, an executable, a name with a space. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'etc/deep/er'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'microvm\n');
  await writeFile(join(root, 'etc/deep/er/file with space'), 'x'.repeat(10_000));
  await writeFile(join(root, 'usr/bin/app'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'usr/bin/app'), 0o755);
  await symlink('usr/bin', join(root, 'bin'));
}

describe('reproducible root images', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rootfs-image-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // The second tree is a copy made later: same contents and mtimes, other ctimes and atimes,
  // which mkfs.ext4 -d copies into the inodes unless they are fixed afterwards.
  it('rootfs.ext4: same tree, copied later, gives the same bytes', async () => {
    await makeTree(join(dir, 'a'));
    await sleep(1100);
    await copyTree(join(dir, 'a'), join(dir, 'b'));
    const o = { sourceDateEpoch: 0, seed: 'tiny/bootstrap', size: 16 * 1024 * 1024 };
    await makeExt4Image(run, join(dir, 'a'), join(dir, 'a.ext4'), o);
    await makeExt4Image(run, join(dir, 'b'), join(dir, 'b.ext4'), o);
    const [a, b] = await Promise.all([readFile(join(dir, 'a.ext4')), readFile(join(dir, 'b.ext4'))]);
    expect(a.length).toBe(16 * 1024 * 1024);
    expect(a.equals(b)).toBe(true);
    const stat = await run('debugfs', ['-R', 'stat "/etc/deep/er/file with space"', join(dir, 'a.ext4')]);
    expect(stat.stdout).toMatch(/ctime: 0x00000001/);
    const fsck = await run('e2fsck', ['-fn', join(dir, 'a.ext4')], { allowFailure: true });
    expect(fsck.exitCode).toBe(0);
    const uuid = await run('dumpe2fs', ['-h', join(dir, 'a.ext4')]);
    expect(uuid.stdout).toContain(stableUuid('tiny/bootstrap'));
  });

  it('rootfs.ext4 refuses a size smaller than the content, naming the knobs', async () => {
    await makeTree(join(dir, 'a'));
    await expect(
      makeExt4Image(run, join(dir, 'a'), join(dir, 'a.ext4'), { sourceDateEpoch: 0, seed: 's', size: 4096 }),
    ).rejects.toThrow(/IMG_SIZE, --size or microvm.size/);
  });

  it('rootfs.ext4 sizes itself from the content when no size is given', async () => {
    await makeTree(join(dir, 'a'));
    await makeExt4Image(run, join(dir, 'a'), join(dir, 'a.ext4'), { sourceDateEpoch: 1700000000, seed: 's' });
    expect((await readFile(join(dir, 'a.ext4'))).length).toBe(64 * 1024 * 1024);
  });

  it('rootfs.squashfs: same tree, copied later, gives the same bytes', async () => {
    await makeTree(join(dir, 'a'));
    await sleep(1100);
    await copyTree(join(dir, 'a'), join(dir, 'b'));
    await makeSquashfsImage(run, join(dir, 'a'), join(dir, 'a.sqfs'), 'zstd', 1700000000);
    await makeSquashfsImage(run, join(dir, 'b'), join(dir, 'b.sqfs'), 'zstd', 1700000000);
    const [a, b] = await Promise.all([readFile(join(dir, 'a.sqfs')), readFile(join(dir, 'b.sqfs'))]);
    expect(a.equals(b)).toBe(true);
    const list = await run('unsquashfs', ['-lls', join(dir, 'a.sqfs')]);
    expect(list.stdout).toMatch(/lrwxrwxrwx .* squashfs-root\/bin -> usr\/bin/);
    expect(list.stdout).toMatch(/2023-11-14 \d\d:13 squashfs-root\/etc\/hostname/);
  });

  it("squashfs compression: auto takes what the kernel's squashfs reads", () => {
    const config = (options: string[]) => ({ path: 'config-x', enabled: new Set(options) });
    expect(squashfsCompression('auto', config(['CONFIG_SQUASHFS_ZLIB', 'CONFIG_SQUASHFS_ZSTD']))).toBe(
      'zstd',
    );
    expect(squashfsCompression('auto', config(['CONFIG_SQUASHFS_XZ', 'CONFIG_SQUASHFS_ZLIB']))).toBe('gzip');
    expect(squashfsCompression('auto', undefined)).toBe('gzip');
    expect(squashfsCompression('xz', config([]))).toBe('xz');
  });

  it('names a path debugfs cannot take', async () => {
    await mkdir(join(dir, 'a'));
    await writeFile(join(dir, 'a', 'say "hi"'), '');
    await expect(
      makeExt4Image(run, join(dir, 'a'), join(dir, 'a.ext4'), { sourceDateEpoch: 0, seed: 's' }),
    ).rejects.toThrow(BuildError);
  });
});
