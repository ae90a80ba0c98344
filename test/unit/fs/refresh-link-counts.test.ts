import { existsSync } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readFile, rm, statfs, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { copyTree } from '../../../src/fs/fs-tree.js';
import { createTreeArchive } from '../../../src/fs/tree-archive.js';
import { makeExt4Image, makeSquashfsImage } from '../../../src/image/rootfs-image.js';
import { FUSE_SUPER_MAGIC } from '../../../src/fs/refresh-link-counts.js';

const SDE = 1_700_000_000;
const haveDisorderfs =
  existsSync('/usr/bin/disorderfs') && existsSync('/dev/fuse') && process.geteuid?.() === 0;

/**
 * A root file and a link to it made just after reading its attributes (as linkDuplicates does):
 * a FUSE kernel then keeps the root file's old count of 1 for about a second.
 */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await mkdir(join(root, '.tether-installs'));
  await writeFile(join(root, 'usr/lib/libx.so'), 'a library\n');
  await writeFile(join(root, 'usr/other'), 'another file\n');
  await lstat(join(root, 'usr/lib/libx.so'));
  await link(join(root, 'usr/lib/libx.so'), join(root, '.tether-installs/libx.so'));
  for (const d of ['.', 'usr', 'usr/lib', '.tether-installs']) await utimes(join(root, d), 1000, 1000);
}

/** What each writer makes of a tree, as bytes (copyTree: whether the copy kept the link). */
const WRITERS: Record<string, (root: string, out: string) => Promise<Buffer>> = {
  'tar (createTreeArchive)': async (root, out) => {
    await createTreeArchive(root, out, SDE);
    return readFile(out);
  },
  'mksquashfs (makeSquashfsImage)': async (root, out) => {
    await makeSquashfsImage(run, root, out, 'gzip', SDE);
    return readFile(out);
  },
  'mkfs.ext4 -d (makeExt4Image)': async (root, out) => {
    await makeExt4Image(run, root, out, { sourceDateEpoch: SDE, seed: 'refresh-link-counts', size: 8 << 20 });
    return readFile(out);
  },
  'cp -a (copyTree)': async (root, out) => {
    const copy = `${out}.tree`;
    await copyTree(root, copy);
    const st = [
      await lstat(join(copy, 'usr/lib/libx.so')),
      await lstat(join(copy, '.tether-installs/libx.so')),
    ];
    // The copy is made outside the mount: cp -a read the counts through it.
    return Buffer.from(JSON.stringify({ linked: st[0]!.ino === st[1]!.ino }));
  },
};

describe('refreshLinkCounts', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'isobuild-refresh-links-'));
  });
  afterEach(async () => {
    await run('fusermount', ['-u', join(tmp, 'mnt')], { allowFailure: true });
    await rm(tmp, { recursive: true, force: true });
  });

  (haveDisorderfs ? it : it.skip)(
    'knows a FUSE mount from statfs, and the folder below it as none (needs disorderfs and root)',
    async () => {
      await mkdir(join(tmp, 'below'));
      await mkdir(join(tmp, 'mnt'));
      await run('disorderfs', ['--quiet', join(tmp, 'below'), join(tmp, 'mnt')]);
      expect((await statfs(join(tmp, 'mnt'))).type).toBe(FUSE_SUPER_MAGIC);
      expect((await statfs(join(tmp, 'below'))).type).not.toBe(FUSE_SUPER_MAGIC);
    },
  );

  for (const [name, write] of Object.entries(WRITERS))
    (haveDisorderfs ? it : it.skip)(
      `${name}: the same result through disorderfs, a link just made, as on the folder below (needs disorderfs and root)`,
      async () => {
        const below = join(tmp, 'below');
        const mnt = join(tmp, 'mnt');
        await mkdir(below);
        await mkdir(mnt);
        await run('disorderfs', ['--quiet', below, mnt]);
        await makeTree(mnt);
        const throughFuse = await write(mnt, join(tmp, 'fuse.out'));
        await run('fusermount', ['-u', mnt]);
        const direct = await write(below, join(tmp, 'below.out'));
        expect(throughFuse.equals(direct)).toBe(true);
      },
    );
});
