import { createHash } from 'node:crypto';
import { chown, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import { createTreeArchive, extractTreeArchive } from '../../../src/fs/tree-archive.js';

// Pushed layer digests are only stable if the same tree gives the same archive bytes.
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-archive-'));
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'etc/sub'), { recursive: true });
  await writeFile(join(tree, 'etc/b'), 'b\n');
  await writeFile(join(tree, 'etc/a'), 'a\n');
  await writeFile(join(tree, 'etc/sub/owned'), 'x\n');
  await symlink('a', join(tree, 'etc/link'));
  if (process.getuid?.() === 0) await chown(join(tree, 'etc/sub/owned'), 1234, 5678);
  await utimes(join(tree, 'etc/a'), 1_000_000, 1_000_000);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

test('the same tree gives the same tar+zstd bytes, whenever and in whatever order it was written', async () => {
  const tree = join(dir, 'tree');
  await createTreeArchive(tree, join(dir, 'one.tar.zst'), 1_700_000_000, 'zstd');
  // Newer mtimes (clamped to SOURCE_DATE_EPOCH), new atimes/ctimes: the same bytes.
  await utimes(join(tree, 'etc/b'), new Date(), new Date());
  await writeFile(join(tree, 'etc/sub/owned'), 'x\n');
  await createTreeArchive(tree, join(dir, 'two.tar.zst'), 1_700_000_000, 'zstd');
  expect(await sha(join(dir, 'two.tar.zst'))).toBe(await sha(join(dir, 'one.tar.zst')));

  const listing = (
    await run('tar', ['--list', '--verbose', '--numeric-owner', '--file', join(dir, 'one.tar.zst')])
  ).stdout;
  // Sorted names; an mtime older than the epoch is kept, a newer one clamped.
  const lines = listing.split('\n');
  expect(lines.find((l) => l.endsWith(' ./etc/a'))).toMatch(/ 1970-01-12 /);
  expect(lines.find((l) => l.endsWith(' ./etc/b'))).toMatch(/ 2023-11-1[45] /);
  const names = listing
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      l
        .replace(/ -> .*$/, '')
        .split(/\s+/)
        .at(-1),
    );
  expect(names).toEqual([
    './',
    './etc/',
    './etc/a',
    './etc/b',
    './etc/link',
    './etc/sub/',
    './etc/sub/owned',
  ]);
});

test('unpacking gives back contents, links, and (as root) numeric owners', async () => {
  await createTreeArchive(join(dir, 'tree'), join(dir, 't.tar.zst'), 1_700_000_000, 'zstd');
  const out = join(dir, 'out');
  await mkdir(out);
  await extractTreeArchive(join(dir, 't.tar.zst'), out);
  expect(await readFile(join(out, 'etc/link'), 'utf8')).toBe('a\n');
  if (process.getuid?.() === 0) {
    const st = await (await import('node:fs/promises')).stat(join(out, 'etc/sub/owned'));
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
  }
});
