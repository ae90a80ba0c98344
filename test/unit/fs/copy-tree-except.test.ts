import { link, lstat, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { copyTreeExcept } from '../../../src/fs/fs-tree.js';
import { exists } from '../../../src/fs/exists.js';

// copyTreeExcept with real cp and tar on a small tree (the drivers stage's use of it, on a real
// kernel's modules, is test/integration/drivers-leave-out.test.ts).

let tmp: DirectoryResult;
let from: string;

beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  from = join(tmp.path, 'from');
  await mkdir(join(from, 'usr/lib/mods/a'), { recursive: true });
  await mkdir(join(from, 'usr/lib/mods/b'), { recursive: true });
  await mkdir(join(from, 'usr/bin'), { recursive: true });
  await writeFile(join(from, 'usr/lib/mods/a/drop.ko'), 'x');
  await writeFile(join(from, 'usr/lib/mods/b/drop.ko'), 'x');
  await writeFile(join(from, 'usr/lib/mods/b/keep.ko'), 'k');
  await writeFile(join(from, 'usr/bin/one'), '1');
  await link(join(from, 'usr/bin/one'), join(from, 'usr/lib/one-again'));
  await symlink('usr/lib', join(from, 'lib'));
  await utimes(join(from, 'usr/lib/mods/b'), 1000, 1000);
});

afterEach(async () => {
  await tmp.cleanup();
});

test('leaves out the paths, keeps hard links across folders, makes a folder whose entries were all left out, and keeps folder mtimes', async () => {
  const to = join(tmp.path, 'to');
  const left = await copyTreeExcept(from, to, ['usr/lib/mods/a/drop.ko', '/usr/lib/mods/b/drop.ko']);
  expect(left.sort()).toEqual(['usr/lib/mods/a/drop.ko', 'usr/lib/mods/b/drop.ko']);
  expect(await exists(join(to, 'usr/lib/mods/a/drop.ko'))).toBe(false);
  expect(await exists(join(to, 'usr/lib/mods/b/drop.ko'))).toBe(false);
  expect(await readdir(join(to, 'usr/lib/mods/a'))).toEqual([]);
  expect(await readdir(join(to, 'usr/lib/mods/b'))).toEqual(['keep.ko']);
  expect((await lstat(join(to, 'lib'))).isSymbolicLink()).toBe(true);
  const [one, again] = await Promise.all([
    lstat(join(to, 'usr/bin/one')),
    lstat(join(to, 'usr/lib/one-again')),
  ]);
  expect(one.ino).toBe(again.ino);
  // Copying keep.ko into it moved the folder's mtime; the source's is put back.
  expect((await lstat(join(to, 'usr/lib/mods/b'))).mtimeMs).toBe(1000_000);
});

test('copies a path under a symlink or outside the tree, leaving nothing out', async () => {
  const to = join(tmp.path, 'to');
  expect(await copyTreeExcept(from, to, ['lib/mods/a/drop.ko', '../from/usr/bin/one', '.'])).toEqual([]);
  expect(await exists(join(to, 'usr/lib/mods/a/drop.ko'))).toBe(true);
  expect(await exists(join(to, 'usr/bin/one'))).toBe(true);
});
