import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { BuildError } from '../../../src/errors.js';
import { mergeTree } from '../../../src/rootfs/merge-tree.js';
import { resolveInRoot } from '../../../src/rootfs/root-path.js';

let tmp: DirectoryResult;
let root: string;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  root = join(tmp.path, 'root');
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  // VIC's layout: an absolute link that must never lead to the build host's /lib.
  await symlink('/lib', join(root, 'lib64'));
});
afterEach(() => tmp.cleanup());

test('resolveInRoot follows links inside the root, re-rooting absolute ones and clamping ..', async () => {
  expect(await resolveInRoot(root, '/lib/modules')).toBe(join(root, 'usr/lib/modules'));
  expect(await resolveInRoot(root, '/lib64/x')).toBe(join(root, 'usr/lib/x'));
  expect(await resolveInRoot(root, '/../../etc/passwd')).toBe(join(root, 'etc/passwd'));
  expect(await resolveInRoot(root, '/lib', false)).toBe(join(root, 'lib'));
});

test('a loop of links is an error, not a hang', async () => {
  await symlink('b', join(root, 'a'));
  await symlink('a', join(root, 'b'));
  await expect(resolveInRoot(root, '/a/x')).rejects.toThrow('too many levels of symbolic links');
});

test("mergeTree merges directories through the root's links and lets incoming entries replace others", async () => {
  const from = join(tmp.path, 'from');
  await mkdir(join(from, 'lib/modules/1.0'), { recursive: true });
  await writeFile(join(from, 'lib/modules/1.0/a.ko'), 'a');
  await symlink('usr/lib64', join(from, 'lib64'));
  await mkdir(join(from, 'etc'), { recursive: true });
  await writeFile(join(from, 'etc/hostname'), 'new');
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/hostname'), 'old');

  await mergeTree(from, root);
  expect(await readlink(join(root, 'lib'))).toBe('usr/lib');
  expect(await readFile(join(root, 'usr/lib/modules/1.0/a.ko'), 'utf8')).toBe('a');
  expect(await readlink(join(root, 'lib64'))).toBe('usr/lib64');
  expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('new');
  expect(await readdir(from)).toEqual([]);
});

test('mergeTree refuses to put a file over a non-empty directory', async () => {
  const from = join(tmp.path, 'from');
  await mkdir(from);
  await writeFile(join(from, 'etc'), 'a file');
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/keep'), '');
  await expect(mergeTree(from, root, { stage: 'iso-base' })).rejects.toThrow(BuildError);
  expect((await lstat(join(root, 'etc'))).isDirectory()).toBe(true);
});
