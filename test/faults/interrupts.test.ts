import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  listTree,
  makeFakeRepo,
  processesWith,
  startFakeBuild,
  waitFor,
  type FakeRepo,
} from './fake-build.js';

// Fault rows "SIGINT 10 s into iso-base" and "SIGKILL of isobuild mid-stage", and the lock rows
// of "cache on a nearly full disk", reproduced with fake stages through the real pipeline: a
// stage starts a process tree (one child ignores SIGTERM) and a temp folder in $TMPDIR, as
// mmdebstrap does with its gpghome.
let r: FakeRepo;
beforeEach(async () => {
  r = await makeFakeRepo();
});
afterEach(async () => {
  for (const pid of await processesWith(r.repo)) process.kill(pid, 'SIGKILL');
  await r.remove();
});

const treeStarted = (build: ReturnType<typeof startFakeBuild>) => {
  let out = '';
  build.all?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out.includes('starting the tree');
};

test.each(['SIGINT', 'SIGTERM'] as const)(
  '%s mid-stage: exit 130 within 5 s, the whole process tree gone, temp folders and work removed',
  async (signal) => {
    const build = startFakeBuild(r, 'tree');
    const started = treeStarted(build);
    await waitFor(async () => started() && (await processesWith(r.repo)).length >= 3);
    const sent = Date.now();
    build.kill(signal);
    const res = await build;
    const took = Date.now() - sent;
    expect(res.exitCode).toBe(130);
    expect(res.all).toMatch(`stage iso-base: interrupted by ${signal}; nothing partial was kept`);
    expect(took).toBeLessThan(5000);
    expect(await processesWith(r.repo)).toEqual([]);
    // The session folder (with the tool's gpghome-like temp folder) and the work folder are gone.
    expect(await listTree(join(r.cache, 'tmp'))).toEqual([]);
    expect(await readdir(join(r.cache, 'locks'))).toEqual([]);
  },
);

test('SIGKILL mid-stage: the next build ends the orphaned tree, then cleans the lock and work folders', async () => {
  const build = startFakeBuild(r, 'tree');
  const started = treeStarted(build);
  await waitFor(async () => started() && (await processesWith(r.repo)).length >= 3);
  build.kill('SIGKILL');
  await build;
  // The orphans run on: a SIGKILLed process cannot clean up after itself.
  expect((await processesWith(r.repo)).length).toBeGreaterThanOrEqual(2);
  const next = await startFakeBuild(r, 'ok');
  expect(next.exitCode).toBe(0);
  expect(next.all).toMatch(/removed the stale lock of fake \(left by pid \d+.*no longer running\)/);
  expect(next.all).toMatch(/ended 1 process group\(s\) left running by a killed build/);
  expect(await processesWith(r.repo)).toEqual([]);
  expect(await listTree(join(r.cache, 'tmp'))).toEqual([]);
});

test('an ownerless lock folder (older isobuild) is taken over at once, not waited on for --lock-timeout', async () => {
  await mkdir(join(r.cache, 'locks', 'fake.lock'), { recursive: true });
  await writeFile(join(r.cache, 'locks', 'fake.lock', 'owner'), '');
  const started = Date.now();
  const res = await startFakeBuild(r, 'ok', { FAKE_LOCK_TIMEOUT: '1800' });
  expect(res.exitCode).toBe(0);
  expect(res.all).toMatch('removed the stale lock of fake (without an owner)');
  expect(Date.now() - started).toBeLessThan(10000);
});

test('a lock whose pid was reused by another process (start time differs) is stale', async () => {
  await mkdir(join(r.cache, 'locks', 'fake.lock'), { recursive: true });
  const owner = {
    host: hostname(),
    pid: process.pid,
    start: '1',
    since: '2026-01-01T00:00:00Z',
    command: 'build x',
  };
  await writeFile(join(r.cache, 'locks', 'fake.lock', 'owner'), JSON.stringify(owner));
  const res = await startFakeBuild(r, 'ok');
  expect(res.exitCode).toBe(0);
  expect(res.all).toMatch(`removed the stale lock of fake (left by pid ${process.pid}`);
});

test('waiting for a lock says who holds it, and Ctrl-C stops the wait at once', async () => {
  const holder = startFakeBuild(r, 'tree');
  const started = treeStarted(holder);
  await waitFor(started);
  const waiter = startFakeBuild(r, 'ok', { FAKE_LOCK_TIMEOUT: '1800' });
  let out = '';
  waiter.all?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('waiting for another build'));
  expect(out).toMatch(
    new RegExp(`waiting for another build of fake \\(pid ${holder.pid}, since \\S+: isobuild .*tree\\)`),
  );
  const sent = Date.now();
  waiter.kill('SIGINT');
  const res = await waiter;
  expect(res.exitCode).toBe(130);
  expect(Date.now() - sent).toBeLessThan(1500);
  holder.kill('SIGINT');
  expect((await holder).exitCode).toBe(130);
  expect(existsSync(join(r.cache, 'locks', 'fake.lock'))).toBe(false);
});
