import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkDuplicates, treeMentions } from '../../../src/fs/link-duplicates.js';

describe('linkDuplicates and treeMentions', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'isobuild-links-'));
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await mkdir(join(root, 'kept/lib64'), { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('links a copy to the root file with the same bytes, mode and owner, and nothing else', async () => {
    await writeFile(join(root, 'usr/lib/libx.so'), 'same bytes');
    await writeFile(join(root, 'usr/lib/liby.so'), 'same bytes');
    await chmod(join(root, 'usr/lib/liby.so'), 0o600);
    await writeFile(join(root, 'kept/lib64/libx.so'), 'same bytes');
    await writeFile(join(root, 'kept/lib64/other'), 'different!');
    await writeFile(join(root, 'kept/lib64/new.txt'), 'only here');
    expect(await linkDuplicates(join(root, 'kept'), root)).toBe(1);
    const copy = await stat(join(root, 'kept/lib64/libx.so'));
    expect(copy.nlink).toBe(2);
    expect(copy.ino).toBe((await stat(join(root, 'usr/lib/libx.so'))).ino);
    expect((await stat(join(root, 'kept/lib64/other'))).nlink).toBe(1);
    expect((await stat(join(root, 'kept/lib64/new.txt'))).nlink).toBe(1);
  });

  it('finds a file or a link that names a path', async () => {
    await writeFile(join(root, 'kept/entropy.txt'), '/.tether/bin/haveged -w 1024\n');
    expect(await treeMentions(join(root, 'kept'), '/tmp/isobuild-tether-abc')).toBeUndefined();
    await symlink('/tmp/isobuild-tether-abc/lib64', join(root, 'kept/lib'));
    expect(await treeMentions(join(root, 'kept'), '/tmp/isobuild-tether-abc')).toBe('lib');
  });
});
