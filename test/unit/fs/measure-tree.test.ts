import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureTree } from '../../../src/fs/measure-tree.js';

describe('measureTree', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-measure-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts regular bytes once, links as entries without bytes, folders as entries', async () => {
    await mkdir(join(dir, 'a/b'), { recursive: true });
    await writeFile(join(dir, 'a/b/x'), '12345');
    await writeFile(join(dir, 'y'), 'abc');
    await symlink('a/b/x', join(dir, 'link'));
    expect(await measureTree(dir)).toEqual({ files: 3, bytes: 8, entries: 5 });
  });

  it('measures a missing folder as empty', async () => {
    expect(await measureTree(join(dir, 'nope'))).toEqual({ files: 0, bytes: 0, entries: 0 });
  });
});
