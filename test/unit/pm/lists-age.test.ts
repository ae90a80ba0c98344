import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkListsFreshness, digestSources, stampLists } from '../../../src/pm/lists-age.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-lists-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('lists younger than the max age from the same sources are fresh; older, other sources or age 0 are not', async () => {
  const stamp = join(dir, 'lists.stamp.json');
  expect(await checkListsFreshness(stamp, 'abc', 86400, 1000)).toEqual({
    fresh: false,
    why: 'no package lists fetched yet',
  });
  await stampLists(stamp, 'abc', 1000);
  expect(await checkListsFreshness(stamp, 'abc', 86400, 1000 + 3600)).toEqual({
    fresh: true,
    ageSeconds: 3600,
  });
  expect(await checkListsFreshness(stamp, 'abc', 3600, 1000 + 3600)).toEqual({
    fresh: false,
    why: 'lists are 60 min old (max 60 min)',
  });
  expect(await checkListsFreshness(stamp, 'other', 86400, 1001)).toEqual({
    fresh: false,
    why: 'no package lists fetched for these sources yet',
  });
  expect(await checkListsFreshness(stamp, 'abc', 0, 1001)).toEqual({
    fresh: false,
    why: 'refresh asked for',
  });
});

test('the package cache is shared: a fetch for other sources leaves the first sources fresh', async () => {
  const stamp = join(dir, 'lists.stamp.json');
  await stampLists(stamp, 'abc', 1000);
  await stampLists(stamp, 'other', 2000);
  expect(await checkListsFreshness(stamp, 'abc', 86400, 3000)).toEqual({ fresh: true, ageSeconds: 2000 });
  expect(await checkListsFreshness(stamp, 'other', 86400, 3000)).toEqual({ fresh: true, ageSeconds: 1000 });
});

test('a stamp of an older isobuild (one set of sources) is still read', async () => {
  const stamp = join(dir, 'lists.stamp.json');
  await writeFile(stamp, JSON.stringify({ refreshedAt: 1000, sources: 'abc' }));
  expect(await checkListsFreshness(stamp, 'abc', 86400, 1500)).toEqual({ fresh: true, ageSeconds: 500 });
  await stampLists(stamp, 'other', 2000);
  expect(await checkListsFreshness(stamp, 'abc', 86400, 2500)).toEqual({ fresh: true, ageSeconds: 1500 });
});

test('the sources digest follows the texts, not the file names or their order', async () => {
  const [a, b, c] = ['a.sources', 'b.sources', 'c.list'].map((n) => join(dir, n)) as [string, string, string];
  await writeFile(a, 'Types: deb\nURIs: file:/srv/mirror\nSuites: bookworm\nComponents: main\n');
  await writeFile(b, 'deb file:/srv/other bookworm main\n');
  await writeFile(c, 'Types: deb\nURIs: file:/srv/mirror\nSuites: bookworm\nComponents: main\n\n');
  expect(await digestSources([a, b])).toBe(await digestSources([b, c]));
  await writeFile(c, 'Types: deb\nURIs: file:/srv/mirror\nSuites: trixie\nComponents: main\n');
  expect(await digestSources([a, b])).not.toBe(await digestSources([b, c]));
});
