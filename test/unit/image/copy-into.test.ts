import { chmod, link, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { copyInto } from '../../../src/image/files.js';

// Outputs are copied out of the cache with copyInto: a root or disk image is mostly holes there.
let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

/** 64 MiB with 10 bytes of data in the middle, the rest holes: what a freshly made ext4 image looks like. */
async function sparseImage(path: string): Promise<Buffer> {
  const fh = await open(path, 'w');
  await fh.truncate(64 << 20);
  await fh.write(Buffer.from('superblock'), 0, 10, 32 << 20);
  await fh.close();
  return readFile(path);
}

test('a copy keeps the holes of a sparse image, its bytes and its mode', async () => {
  const src = join(tmp.path, 'rootfs.ext4');
  const bytes = await sparseImage(src);
  await chmod(src, 0o640);
  const dest = join(tmp.path, 'out', 'rootfs.ext4');
  await mkdir(join(tmp.path, 'out'));
  const umask = process.umask(0o077);
  try {
    await copyInto(src, dest);
  } finally {
    process.umask(umask);
  }
  const st = await stat(dest);
  expect(st.size).toBe(64 << 20);
  // A dense copy has 131,072 blocks of 512 bytes; the sparse one a handful.
  expect(st.blocks * 512).toBeLessThan(1 << 20);
  expect(st.mode & 0o777).toBe(0o640);
  expect((await readFile(dest)).equals(bytes)).toBe(true);
});

test('a copy replaces the destination through a new file: a hard link to it keeps the old bytes', async () => {
  const src = join(tmp.path, 'new');
  await writeFile(src, 'new\n');
  const dest = join(tmp.path, 'dest');
  await writeFile(dest, 'cached\n');
  await link(dest, join(tmp.path, 'cache-entry'));
  await copyInto(src, dest);
  expect(await readFile(dest, 'utf8')).toBe('new\n');
  expect(await readFile(join(tmp.path, 'cache-entry'), 'utf8')).toBe('cached\n');
});
