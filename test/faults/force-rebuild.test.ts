import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { entryKeyOf } from '../../src/cache/cache.js';
import { makeFakeRepo, startFakeBuild, type FakeRepo } from './fake-build.js';

// build --force (FAKE_FORCE=1 sets the same plan option): fake stages through the real pipeline
// and the real output writer.
let r: FakeRepo;
beforeEach(async () => {
  r = await makeFakeRepo();
});
afterEach(() => r.remove());

const statuses = (stdout: string) =>
  (
    JSON.parse(stdout.trim().split('\n').at(-1)!) as { outcomes: { stage: string; status: string }[] }
  ).outcomes.map((o) => `${o.stage}:${o.status}`);
const isoEntry = async () => {
  const dir = join(r.cache, 'stages', 'fake');
  return join(dir, (await readdir(dir)).find((n) => entryKeyOf(n, 'iso'))!);
};

test('--force builds the last stage again over its cached entry and rewrites the output; the stages before it stay cached', async () => {
  const out = join(r.dir, 'bin', 'fake.iso');
  const build = (env: Record<string, string> = {}) =>
    startFakeBuild(r, 'output', { FAKE_OUTPUT: out, ...env });
  expect((await build()).exitCode).toBe(0);
  const first = { output: await stat(out), entry: await stat(await isoEntry()) };

  // Without --force: nothing runs and the output holding the same bytes is left as it is.
  let res = await build();
  expect(statuses(res.stdout)).toEqual(['iso-base:hit', 'tether:hit', 'iso:hit']);
  expect((await stat(out)).ino).toBe(first.output.ino);

  res = await build({ FAKE_FORCE: '1' });
  expect(res.exitCode).toBe(0);
  expect(statuses(res.stdout)).toEqual(['iso-base:hit', 'tether:hit', 'iso:built']);
  expect(res.all).toContain('iso... (rebuilds: --force: the cached entry is not used)');
  // A new entry under the same key, and a new output file with the same bytes.
  expect((await stat(await isoEntry())).ino).not.toBe(first.entry.ino);
  expect((await stat(out)).ino).not.toBe(first.output.ino);
  expect((await readFile(out)).equals(Buffer.alloc(24 << 20, 3))).toBe(true);
});

test('--force on a build whose last stage is not cached yet says no reason: it is built anyway', async () => {
  const res = await startFakeBuild(r, 'ok', { FAKE_FORCE: '1' });
  expect(res.exitCode).toBe(0);
  expect(statuses(res.stdout)).toEqual(['iso-base:built', 'tether:built', 'iso:built']);
  expect(res.all).not.toContain('--force');
});
