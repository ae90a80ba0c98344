import { execa } from 'execa';
import { readdir, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { entryKeyOf } from '../../src/cache/cache.js';
import { measureTree } from '../../src/fs/measure-tree.js';
import { eventsOfType } from '../helpers/json-events.js';
import { CLI, makeFakeRepo, startFakeBuild, type FakeRepo } from './fake-build.js';

// Fault row "one file of a cached stage truncated", with fake stages through the real pipeline
// and the real `isobuild cache` command.
let r: FakeRepo;
beforeEach(async () => {
  r = await makeFakeRepo();
});
afterEach(() => r.remove());

const entry = async (stage: string) => {
  const dir = join(r.cache, 'stages', 'fake');
  const name = (await readdir(dir)).find((n) => entryKeyOf(n, stage));
  return join(dir, name!);
};
/** One byte changed in place, size and mtime (to the nanosecond) kept: a bit flip on disk. */
const overwriteKeepingMtime = (file: string) =>
  execa('sh', [
    '-c',
    'touch -r "$1" "$1.ref" && printf X | dd of="$1" bs=1 seek=10 conv=notrunc status=none && touch -r "$1.ref" "$1" && rm "$1.ref"',
    'sh',
    file,
  ]);
const cacheCli = (...args: string[]) =>
  execa('node', [CLI, 'cache', ...args], { reject: false, all: true, env: { ISOBUILD_CACHE: r.cache } });

test('a truncated file in a cached stage is noticed on the hit: dropped with a warning, rebuilt, the right bytes shipped', async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  const busybox = join(await entry('tether'), 'rootfs/usr/bin/busybox');
  await truncate(busybox, 100);
  // As in the report: the entries after it are removed, so the damaged one would be reused.
  await execa('rm', ['-rf', await entry('iso')]);
  const res = await startFakeBuild(r);
  expect(res.exitCode).toBe(0);
  expect(res.all).toMatch(
    /cache entry tether-\w+ does not match its manifest \(rootfs\/usr\/bin\/busybox: 100 bytes, was 65536\): dropped, rebuilding/,
  );
  const outcomes = JSON.parse(res.stdout.trim().split('\n').at(-1)!).outcomes as {
    stage: string;
    status: string;
  }[];
  expect(outcomes.map((o) => `${o.stage}:${o.status}`)).toEqual([
    'iso-base:hit',
    'tether:built',
    'iso:built',
  ]);
  expect((await stat(join(await entry('iso'), 'artifacts/image.iso'))).size).toBe(65536);
  // And the next build trusts the rebuilt entry.
  expect((await startFakeBuild(r)).all).not.toMatch('does not match');
});

test('same size and mtime but other bytes: only --verify-cache (full digests) notices', async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  const busybox = join(await entry('iso-base'), 'rootfs/usr/bin/busybox');
  await overwriteKeepingMtime(busybox);
  expect((await startFakeBuild(r)).all).not.toMatch('does not match');
  const full = await startFakeBuild(r, 'ok', { FAKE_VERIFY_CACHE: '1' });
  expect(full.all).toMatch(
    /cache entry iso-base-\w+ does not match its manifest \(rootfs\/usr\/bin\/busybox: contents changed\)/,
  );
});

test('a damaged artifact is caught on every hit (artifacts are always digested)', async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  const iso = join(await entry('iso'), 'artifacts/image.iso');
  await overwriteKeepingMtime(iso);
  const res = await startFakeBuild(r);
  expect(res.all).toMatch(
    /cache entry iso-\w+ does not match its manifest \(artifacts\/image.iso: contents changed\)/,
  );
  expect(await readFile(iso)).toEqual(Buffer.alloc(65536, 7));
});

test('isobuild cache verify names the damaged entry and exits 1; --drop removes it; gc trims oldest first', async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  let res = await cacheCli('verify');
  expect(res.exitCode).toBe(0);
  expect(res.all).toMatch('3 entries match their manifests, 0 damaged');
  await truncate(join(await entry('tether'), 'rootfs/usr/bin/busybox'), 100);
  res = await cacheCli('verify');
  expect(res.exitCode).toBe(1);
  expect(res.all).toMatch(/error: fake\/tether-\w+: rootfs\/usr\/bin\/busybox: 100 bytes, was 65536/);
  res = await cacheCli('verify', '--drop');
  expect(res.exitCode).toBe(1);
  expect(res.all).toMatch(/fake\/tether-\w+: removed/);
  // iso shared tether's root: it is unusable now, and verify says so.
  res = await cacheCli('verify');
  expect(res.all).toMatch(/fake\/iso-\w+: rootfs: the entry it shares \(\S+\) is gone/);
  res = await cacheCli('gc', '--max-size', '100K');
  expect(res.exitCode).toBe(0);
  expect(await readdir(join(r.cache, 'stages', 'fake'))).toEqual([expect.stringMatching(/^iso-base-/)]);
  res = await cacheCli('gc', '--max-size', '0');
  expect(await readdir(join(r.cache, 'stages', 'fake'))).toEqual([]);
});

test('cache gc --dry-run names what gc would remove and the size freed, and removes nothing', async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  const stages = join(r.cache, 'stages', 'fake');
  const before = (await readdir(stages)).sort();
  const sizes = Object.fromEntries(
    await Promise.all(before.map(async (n) => [n, (await measureTree(join(stages, n))).bytes] as const)),
  );
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  let res = await cacheCli('gc', '--max-size', '0', '--dry-run');
  expect(res.exitCode).toBe(0);
  for (const name of before) expect(res.all).toContain(`would remove fake/${name}`);
  expect(res.all).toMatch(/would remove 3 entries, freeing [\d.]+ MiB: .*nothing was removed \(--dry-run\)/);
  expect((await readdir(stages)).sort()).toEqual(before);
  // --json: the same choice as data, checked against the event schema.
  res = await cacheCli('gc', '--max-size', '0', '--dry-run', '--json');
  const [gc] = eventsOfType(res.stdout, 'cache-gc');
  expect(gc).toMatchObject({ dryRun: true, removed: 3, bytesBefore: total, bytesAfter: 0, maxBytes: 0 });
  expect(gc!.entries).toEqual(
    expect.arrayContaining(before.map((n) => ({ repo: 'fake', entry: n, bytes: sizes[n] }))),
  );
  expect((await readdir(stages)).sort()).toEqual(before);
  // The real run then removes exactly what the dry run named.
  res = await cacheCli('gc', '--max-size', '0', '--json');
  expect(eventsOfType(res.stdout, 'cache-gc')[0]).toMatchObject({ dryRun: false, removed: 3 });
  expect(await readdir(stages)).toEqual([]);
});

test('cache gc leaves alone the entries of a repo whose build is running', async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  const holder = startFakeBuild(r, 'tree');
  let out = '';
  holder.all?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20000;
  while (!out.includes('starting the tree') && Date.now() < deadline)
    await new Promise((s) => setTimeout(s, 50));
  const res = await cacheCli('gc', '--max-size', '0');
  expect(res.all).toMatch('fake: a build is running; its entries are left alone');
  expect((await readdir(join(r.cache, 'stages', 'fake'))).length).toBe(3);
  holder.kill('SIGINT');
  await holder;
});

test("while a build runs, gc keeps every repo's usable entries: the build may use any of them", async () => {
  expect((await startFakeBuild(r)).exitCode).toBe(0);
  // Another repo's entries (a copy of fake's: their links are relative), one of them unusable.
  const other = join(r.cache, 'stages', 'other');
  await execa('cp', ['-a', join(r.cache, 'stages', 'fake'), other]);
  const names = await readdir(other);
  await execa('rm', ['-rf', join(other, names.find((n) => entryKeyOf(n, 'tether'))!)]);
  const holder = startFakeBuild(r, 'tree');
  let out = '';
  holder.all?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20000;
  while (!out.includes('starting the tree') && Date.now() < deadline)
    await new Promise((s) => setTimeout(s, 50));
  const res = await cacheCli('gc', '--max-size', '0');
  expect(res.all).toMatch('fake: a build is running; its entries are left alone');
  expect(res.all).toMatch("a build is running, and it may use any repo's entries: they are kept");
  // iso shared tether's root: with tether gone it was unusable, and only it was removed.
  expect(await readdir(other)).toEqual([expect.stringMatching(/^iso-base-/)]);
  holder.kill('SIGINT');
  await holder;
});
