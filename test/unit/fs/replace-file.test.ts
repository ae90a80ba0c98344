import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { replaceFile, writeFileWhole } from '../../../src/fs/replace-file.js';

let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(() => tmp.cleanup());

test('writeFileWhole replaces the file and leaves no temp name; mkdir makes its folder', async () => {
  const file = join(tmp.path, 'a', 'b.json');
  await writeFileWhole(file, 'one', { mkdir: true });
  await writeFileWhole(file, 'two');
  expect(await readFile(file, 'utf8')).toBe('two');
  expect(await readdir(join(tmp.path, 'a'))).toEqual(['b.json']);
});

test('a write that fails keeps the old file and removes what it had written', async () => {
  const file = join(tmp.path, 'kept');
  await writeFile(file, 'old');
  const failing = replaceFile(file, async (t) => {
    await writeFile(t, 'half');
    throw new Error('disk full');
  });
  await expect(failing).rejects.toThrow('disk full');
  expect(await readFile(file, 'utf8')).toBe('old');
  expect(await readdir(tmp.path)).toEqual(['kept']);
});
