import { mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { unpackThenMerge } from '../../../src/rootfs/merge-tree.js';

let tmp: DirectoryResult;
let root: string;
let scratch: string;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  root = join(tmp.path, 'root');
  scratch = join(tmp.path, 'tmp');
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
});
afterEach(() => tmp.cleanup());

test("unpackThenMerge lays the unpacked tree over the root through the root's links, then removes its scratch", async () => {
  await unpackThenMerge(scratch, root, async (target) => {
    // Reachable by a tool that drops privileges (apt's _apt): not mkdtemp's 0700.
    expect((await stat(join(target, '..'))).mode & 0o777).toBe(0o755);
    await mkdir(join(target, 'lib/modules'), { recursive: true });
    await writeFile(join(target, 'lib/modules/x.ko'), 'module');
  });
  expect(await readlink(join(root, 'lib'))).toBe('usr/lib');
  expect(await readFile(join(root, 'usr/lib/modules/x.ko'), 'utf8')).toBe('module');
  expect(await readdir(scratch)).toEqual([]);
});

test('an unpack that fails leaves the root as it was and no scratch behind', async () => {
  const failing = unpackThenMerge(scratch, root, async (target) => {
    await mkdir(target);
    await writeFile(join(target, 'half'), '');
    throw new Error('unpack failed');
  });
  await expect(failing).rejects.toThrow('unpack failed');
  expect((await readdir(root)).sort()).toEqual(['lib', 'usr']);
  expect(await readdir(scratch)).toEqual([]);
});
